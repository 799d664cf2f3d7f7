import { type HttpAuth, type HttpEnv, requestFacts } from "@twelvefold/http";
import type { Context, MiddlewareHandler } from "hono";

/** Options of {@link authenticate}. */
export interface AuthenticateOptions {
  /**
   * The subject a request without an `Authorization` header acts as: AGENT_DEV_USER in
   * development and testing, `undefined` (a token is required) everywhere else.
   */
  readonly devUser: string | undefined;
}

/**
 * The chat routes' authentication: a Bearer JWT checked by the http plugin (signature, expiry,
 * audience, issuer), whose `sub` becomes the request's subject, the key of the per-user rate
 * limit and the owner of what it creates. A request with a bad token is a 401 even where a
 * request without one may act as the development user: a client that sends a token wants it checked.
 */
export function authenticate(auth: HttpAuth, options: AuthenticateOptions): MiddlewareHandler<HttpEnv> {
  const bearer = auth.middleware() as unknown as MiddlewareHandler<HttpEnv>;
  const { devUser } = options;
  return async function authenticateChat(c, next) {
    if (devUser !== undefined && c.req.header("authorization") === undefined) {
      requestFacts(c).subject = devUser;
      return next();
    }
    return bearer(c, next);
  };
}

/** The request's subject, set by {@link authenticate}. */
export function subjectOf(c: Context<HttpEnv>): string {
  const subject = requestFacts(c).subject;
  if (subject === undefined) throw new TypeError("agent: a chat route ran without authentication");
  return subject;
}
