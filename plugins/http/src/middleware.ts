import type { HttpMiddleware } from "@twelvefold/kernel";
import type { MiddlewareHandler } from "hono";
import type { HttpEnv } from "./core.ts";

/**
 * Runs a kernel {@link HttpMiddleware} (the rate limiter's, say) on one route of the Hono app,
 * where the app-wide `HttpRoutes.use` would run it on every route. Place it after authentication
 * to see the request's subject.
 *
 * @example
 * ```ts
 * app.post("/chat", auth.middleware(), honoMiddleware(limiter.middleware({ name: "chat", limit: 20, key: "subject" })), handler);
 * ```
 */
export function honoMiddleware(middleware: HttpMiddleware): MiddlewareHandler<HttpEnv> {
  return async function kernelMiddleware(c, next) {
    const response = await middleware(c.req.raw, c.env, async () => {
      await next();
      return c.res;
    });
    if (response !== c.res) c.res = response;
  };
}
