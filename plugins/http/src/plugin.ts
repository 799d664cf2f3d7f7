import {
  type ConfigOptions,
  definePlugin,
  HttpHandler,
  HttpListener,
  type HttpMethod,
  type HttpMiddleware,
  HttpRoutes,
  latencyBuckets,
  Meter,
  metricNames,
  type Plugin,
  Tracer,
  token,
} from "@twelvefold/kernel";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { AfterAnswers } from "./after-answers.ts";
import { createAuth, HttpAuth } from "./auth.ts";
import { trustedProxies } from "./client-ip.ts";
import { checkHttpConfig, httpConfig } from "./config.ts";
import { type Answered, type HttpEnv, type RequestMetrics, requestHandler, stateFactory } from "./core.ts";
import { DrainDeadlineError, HttpError, type HttpErrorCode, httpErrors } from "./errors.ts";
import { InFlight } from "./inflight.ts";
import { normalizePath } from "./path.ts";
import { addProbes, beforeOpen, PROBE_PATHS } from "./probes.ts";
import { errorResponse, problemResponse } from "./problem.ts";
import { type PeerInfo, RequestState } from "./request.ts";
import { ALL_PATHS, RouteNotingRouter } from "./router.ts";
import { corsMiddleware, securityHeaderList } from "./security.ts";
import { EventStreams } from "./sse.ts";

/** The Hono app every route lives on. Apps add routes to it during their plugin's `start`. */
export type HttpApp = Hono<HttpEnv>;

/** The bound address: the kernel's token, provided here (re-exported for the plugin's own tests). */
export { HttpListener };

/** The http plugin's Hono app, for apps. */
export const HttpApp = token<HttpApp>("twelvefold/http/HttpApp");

/**
 * Options of {@link http}: values for its settings (PORT, HOST, SECRET_KEY...), the top config
 * layer, validated and masked like the environment's.
 */
export type HttpOptions = ConfigOptions<typeof httpConfig>;

const STATUS_CODES: Readonly<Record<number, HttpErrorCode>> = {
  400: "TF_HTTP_BAD_REQUEST",
  401: "TF_HTTP_UNAUTHORIZED",
  403: "TF_HTTP_FORBIDDEN",
  404: "TF_HTTP_NOT_FOUND",
  405: "TF_HTTP_METHOD_NOT_ALLOWED",
  409: "TF_HTTP_CONFLICT",
  413: "TF_HTTP_BODY_TOO_LARGE",
  429: "TF_HTTP_RATE_LIMITED",
  503: "TF_HTTP_UNAVAILABLE",
  504: "TF_HTTP_TIMEOUT",
};

/** A short account of why a request's work was aborted, for the log line. */
function describeAbort(reason: unknown): string {
  if (reason instanceof HttpError) return reason.code;
  return reason instanceof Error ? reason.name : String(reason);
}

/**
 * The http plugin: binds PORT and HOST, serves the probes, and wraps every request with request
 * ids, problem+json errors, limits, security headers, CORS, tracing, metrics and an access log.
 * On drain it answers with `Connection: close`, stops listening once the requests that were in
 * flight when draining began have answered, waits for the rest up to the deadline, then aborts
 * what is left (and the process exits 1).
 *
 * @example
 * ```ts
 * const routes = definePlugin({
 *   name: "routes", requires: [HttpApp],
 *   start({ get }) { get(HttpApp).get("/hello", (c) => c.json({ hello: "world" })); },
 * });
 * await createApp({ name: "svc", plugins: [http(), routes] }).run();
 * ```
 */
export function http(options: HttpOptions = {}): Plugin {
  return definePlugin({
    name: "http",
    // The web process type; worker and scheduler serve their probes with the management plugin.
    processes: ["web"],
    config: httpConfig,
    options,
    check: checkHttpConfig,
    optional: [Tracer],
    late: [Meter],
    provides: [HttpApp, HttpRoutes, HttpHandler, HttpListener, HttpAuth],
    async start({ config, logger, lifecycle, runtime, find, provide, onReady, onDrain, onStop }) {
      const now = () => performance.now();
      const inflight = new InFlight(config.HTTP_REQUEST_TIMEOUT_MS, now);
      const probes = new Set<string>(PROBE_PATHS);
      const middleware: HttpMiddleware[] = [];
      const router = new RouteNotingRouter();
      // Hono compiles its router on the first match: templates are looked up only once it is open.
      const match = (method: string, path: string) => (open ? router.template(method, path) : undefined);
      const streams = new EventStreams(config.HTTP_SSE_KEEPALIVE_MS, logger);
      const createState = stateFactory(inflight, {
        trusted: trustedProxies(config.TRUSTED_PROXIES),
        now,
        match,
        streams,
      });
      const app = new Hono<HttpEnv>({
        router,
        // The request state carries the path, decoded once for the probes, the logs and the router.
        getPath: (request, options) => {
          const state = options?.env;
          return state instanceof RequestState ? state.path : normalizePath(request.url);
        },
      });
      const security = await securityHeaderList(config);
      const after = new AfterAnswers<Answered>((error) => logger.error("recording a request failed", { error }));
      const core = {
        dispatch: (request: Request, state: RequestState) => app.fetch(request, state),
        inflight,
        bodyLimit: config.HTTP_BODY_LIMIT_BYTES,
        timeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
        security: security.every,
        documentSecurity: security.documents,
        middleware,
        probes,
        logger,
        accessLog: config.HTTP_ACCESS_LOG,
        after,
        baggageFrom: config.HTTP_BAGGAGE_TRUSTED.includes("*")
          ? (true as const)
          : trustedProxies(config.HTTP_BAGGAGE_TRUSTED),
        // Looked up when the router opens: Meter is `late` (the metrics plugin starts after us, it needs HttpRoutes).
        tracer: undefined as Tracer | undefined,
        metrics: undefined as RequestMetrics | undefined,
        now,
      };
      // Hono compiles its router on the first request; routes must all be in by then.
      let open = false;
      const lateRouteCheck = (what: string) => {
        if (open) {
          throw httpErrors.create("TF_HTTP_ROUTES_CLOSED", { what });
        }
      };

      let handle = requestHandler(core);
      const cors = corsMiddleware(config);
      if (cors) app.use(ALL_PATHS, cors);
      addProbes(app, lifecycle);

      app.notFound((c) => problemResponse("TF_HTTP_NOT_FOUND", { requestId: c.env.requestId }));
      app.onError((error, c) => {
        const requestId = c.env.requestId;
        if (error instanceof HttpError) return errorResponse(error, requestId);
        if (error instanceof HTTPException && error.status < 500) {
          return problemResponse(STATUS_CODES[error.status] ?? "TF_HTTP_BAD_REQUEST", { requestId });
        }
        const where = { request_id: requestId, method: c.req.method, path: c.req.path };
        // Work that fails because it was aborted (timeout, client gone, drain deadline) was already
        // answered and counted: its failure is the abort taking effect, not a fault to alert on.
        if (c.env instanceof RequestState && c.env.signal.aborted) {
          logger.info("request work stopped after abort", { ...where, reason: describeAbort(c.env.signal.reason) });
        } else {
          logger.error("request failed", { error, ...where });
        }
        return problemResponse("TF_HTTP_INTERNAL", { requestId });
      });

      // Before the router opens, a small app with the same headers answers probes and 503s.
      const gate = async (request: Request): Promise<Response> => {
        const response = await beforeOpen(request, lifecycle);
        for (const [name, value] of core.security) response.headers.set(name, value);
        return response;
      };

      const openRouter = () => {
        open = true;
        // Hono builds its matchers on the first match; do it now rather than in a request.
        app.router.match("GET", "/livez");
        core.tracer = find(Tracer);
        const meter = find(Meter);
        if (meter) {
          core.metrics = {
            total: meter.counter({
              name: metricNames.httpRequests,
              help: "HTTP requests answered, by method, route template and status.",
              labelNames: ["method", "route", "status"],
            }),
            duration: meter.histogram({
              name: metricNames.httpRequestDuration,
              help: "Time to answer HTTP requests, by method and route template.",
              labelNames: ["method", "route"],
              buckets: latencyBuckets,
            }),
          };
          meter.gauge({
            name: metricNames.httpRequestsInFlight,
            help: "HTTP requests being handled.",
            collect: (gauge) => gauge.set(undefined, inflight.size),
          });
        }
        handle = requestHandler(core);
      };

      // Every plugin has added its routes and middleware by now: open (and compile) the router
      // before readiness, so the first request pays nothing and a drain that begins before any
      // request still serves routes during DRAIN_DELAY_MS.
      onReady(() => {
        if (!open) openRouter();
      });

      const entry = (request: Request, peer: PeerInfo | undefined): Response | Promise<Response> => {
        if (!open) {
          if (!lifecycle.ready) return gate(request);
          openRouter();
        }
        return handle(createState(request, peer));
      };

      const server = await runtime.serve({
        port: config.PORT,
        hostname: config.HOST,
        fetch: entry,
        // The core answers a declared Content-Length over the limit with a problem+json 413; the
        // runtime's own cap, with slack above it, stops undeclared (chunked) bodies with a bare 413.
        maxRequestBodySize: config.HTTP_BODY_LIMIT_BYTES + 64 * 1024,
        idleTimeoutSeconds: config.HTTP_IDLE_TIMEOUT_S,
        requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
        maxHeaderBytes: config.HTTP_MAX_HEADER_BYTES,
        // Nothing should get past the core's own error handling; if it does, it is logged, not shown.
        onError: (error) => {
          logger.error("request failed outside the handler", { error });
          return problemResponse("TF_HTTP_INTERNAL", {});
        },
      });
      const shownHost = server.hostname === "0.0.0.0" || server.hostname === "::" ? "127.0.0.1" : server.hostname;
      const listener: HttpListener = {
        port: server.port,
        hostname: server.hostname,
        url: `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${server.port}`,
      };
      logger.info("listening", { url: listener.url, port: server.port, hostname: server.hostname });

      lifecycle.draining.addEventListener("abort", () => inflight.beginClosing(), { once: true });
      // The kernel's "draining" line reports the requests being handled, not only tracked work.
      const uncount = lifecycle.countInFlight(() => inflight.size);
      let stopped = false;
      onDrain(async (deadline) => {
        const began = now();
        const pending = inflight.size;
        const deadlinePassed = new Promise<void>((resolve) => {
          if (deadline.aborted) resolve();
          deadline.addEventListener("abort", () => resolve(), { once: true });
        });
        // Event streams end first (their onDrain, then a retry hint), so their clients reconnect to
        // another replica and no stream holds the listener open until the deadline.
        const openStreams = streams.size;
        await Promise.race([streams.endAll(), deadlinePassed]);
        // Busy keep-alive connections leave on their own: each answer now says Connection: close.
        // Closing the listener closes idle keep-alive connections at once, and one that looks idle
        // may have a request on the wire; so it waits until the connections that were busy when
        // draining began have answered (and their peers had time to send), within a grace period.
        const grace = AbortSignal.timeout(config.HTTP_DRAIN_GRACE_MS);
        await inflight.earlyDone(AbortSignal.any([deadline, grace]));
        const closed = server.stop();
        stopped = true;
        after.flush();
        logger.info("listener closed", { in_flight: inflight.size, streams_ended: openStreams });
        await Promise.race([Promise.all([closed, inflight.idle(deadline)]), deadlinePassed]);
        if (deadline.aborted) {
          const error = new DrainDeadlineError(inflight.size);
          inflight.abortAll(error);
          await server.stop({ force: true }).catch(() => {});
          throw error;
        }
        after.flush();
        logger.info("drained", { in_flight_at_drain: pending, duration_ms: Math.round(now() - began) });
      });
      onStop(async () => {
        uncount();
        after.close();
        inflight.close();
        if (!stopped) {
          stopped = true;
          await server.stop({ force: true });
        }
      });

      provide(HttpApp, app);
      provide(HttpListener, listener);
      provide(HttpHandler, {
        // Not an async function: the answer is already a promise, and a second one per request costs a frame and a tick.
        fetch(request: Request): Promise<Response> {
          try {
            const answer = entry(request, undefined);
            return answer instanceof Promise ? answer : Promise.resolve(answer);
          } catch (error) {
            return Promise.reject(error);
          }
        },
      });
      provide(HttpRoutes, {
        add(method: HttpMethod, path: string, handler, routeOptions) {
          lateRouteCheck(`route "${method} ${path}"`);
          if (routeOptions?.probe) probes.add(path);
          app.on(method, path, (c) => handler(c.req.raw));
        },
        use(mw, useOptions) {
          lateRouteCheck(`middleware "${useOptions.name}"`);
          middleware.push(mw);
        },
      });
      provide(
        HttpAuth,
        createAuth({
          secretKey: config.SECRET_KEY,
          jwksUrl: config.JWT_JWKS_URL,
          audience: config.JWT_AUDIENCE,
          issuer: config.JWT_ISSUER,
          expireMinutes: config.JWT_EXPIRE_MINUTES,
          clockSkewSeconds: config.JWT_CLOCK_SKEW_S,
        }),
      );
    },
  });
}
