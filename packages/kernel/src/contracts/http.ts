import { token } from "../token.ts";

/** A web-standard request handler. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** HTTP methods a route can answer. */
export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/** Options for {@link HttpRoutes.add}. */
export interface RouteOptions {
  /**
   * A probe or scrape endpoint (`/metrics`, `/livez`): exempt from rate limiting, quiet in the
   * access log, left out of the request metrics.
   */
  readonly probe?: boolean;
}

/**
 * Lets a plugin serve routes without importing the http plugin (plugins never import each other):
 * the metrics plugin adds `GET /metrics` through it. Apps usually use the http plugin's Hono app.
 */
export interface HttpRoutes {
  add(method: HttpMethod, path: string, handler: FetchHandler, options?: RouteOptions): void;
}

/** The route registry, provided by the http plugin. */
export const HttpRoutes = token<HttpRoutes>("twelvefold/HttpRoutes");

/**
 * The whole HTTP stack (middleware included) as one in-process function, so tests and the
 * contract kit can call routes without a socket.
 */
export interface HttpHandler {
  fetch(request: Request): Promise<Response>;
}

/** The in-process HTTP entry point, provided by the http plugin. */
export const HttpHandler = token<HttpHandler>("twelvefold/HttpHandler");
