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
 * What the http plugin knows about one request, for middleware from other plugins (the rate
 * limiter keys on `clientIp` or `subject`). Values are computed on first read, so a middleware
 * that does not look costs nothing.
 */
export interface RequestFacts {
  /** The request id: the incoming `X-Request-Id` when well formed, else a generated one. */
  readonly requestId: string;
  /**
   * The client's address: the socket peer, or the nearest untrusted hop of `X-Forwarded-For`
   * when the peer is one of the http plugin's trusted proxies. `"unknown"` when neither is known.
   */
  readonly clientIp: string;
  /**
   * The normalized path, computed once: percent-decoded as the router decodes it, repeated
   * slashes collapsed, dot segments removed. Routing, rate-limit policies, route labels, CORS and
   * authentication all decide on this one, so no respelling of a path (`/%63hat`, `/a/../chat`,
   * `//chat`) escapes a rule that names it.
   */
  readonly path: string;
  /**
   * The template of the route the request matches (`/sessions/:id`), `undefined` when none does.
   * Known before routing, so an answer given by middleware (a 429) is labelled with it.
   */
  readonly route: string | undefined;
  /** The authenticated subject (a JWT `sub`), set by authentication middleware once it has run. */
  subject: string | undefined;
  /** Aborts when the client goes away, the request times out, or the drain deadline passes. */
  readonly signal: AbortSignal;
}

/**
 * A middleware in web-standard terms, so a plugin can wrap every request without depending on
 * the http plugin's framework. Return `next()`'s response (headers may be added to it) or a
 * response of your own to answer early.
 *
 * `next()` answers synchronously (a `Response`) when everything after it did, and with a promise
 * otherwise: `await next()` works either way, and a middleware that needs no await of its own can
 * stay synchronous when what follows is (`const answer = next(); return answer instanceof Promise ?
 * answer.then(tag) : tag(answer)`), so a request that nothing suspends is answered without a
 * microtask turn. Never call `.then` on `next()` without checking.
 */
export type HttpMiddleware = (
  request: Request,
  facts: RequestFacts,
  next: () => Response | Promise<Response>,
) => Response | Promise<Response>;

/** Options for {@link HttpRoutes.use}. */
export interface MiddlewareOptions {
  /** Names the middleware in logs and errors. */
  readonly name: string;
}

/**
 * Lets a plugin serve routes and wrap requests without importing the http plugin (plugins never
 * import each other): the metrics plugin adds `GET /metrics`, the rate-limit plugin adds its
 * middleware. Apps usually use the http plugin's Hono app. Both must be called during `start`:
 * the router is built when the first request arrives.
 */
export interface HttpRoutes {
  add(method: HttpMethod, path: string, handler: FetchHandler, options?: RouteOptions): void;
  /** Runs `middleware` on every request except probes, in the order of registration, before routes. */
  use(middleware: HttpMiddleware, options: MiddlewareOptions): void;
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

/** Where the app's HTTP server listens, once bound (PORT 0 picks a free port). */
export interface HttpListener {
  readonly port: number;
  readonly hostname: string;
  /** `http://host:port`, with a loopback host when bound to every interface. */
  readonly url: string;
}

/** The bound address, provided by the http plugin: for tests (the kit's `testApp().url`) and logs. */
export const HttpListener = token<HttpListener>("twelvefold/HttpListener");
