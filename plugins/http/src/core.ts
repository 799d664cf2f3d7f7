import type { Counter, Histogram, HttpMiddleware, Logger, RequestFacts, Span, Tracer } from "@twelvefold/kernel";
import type { Context } from "hono";
import type { AfterAnswers } from "./after-answers.ts";
import { bodyTooLarge, limitBody } from "./body-limit.ts";
import type { ProxyCheck } from "./client-ip.ts";
import { HttpError, httpErrors } from "./errors.ts";
import type { InFlight } from "./inflight.ts";
import { validHost } from "./path.ts";
import { errorResponse, problemResponse } from "./problem.ts";
import { type PeerInfo, RequestState, type RouteMatcher } from "./request.ts";
import { ALL_PATHS } from "./router.ts";
import type { HeaderList } from "./security.ts";
import type { EventStreams } from "./sse.ts";

/**
 * The Hono environment of the http plugin's app. The request's facts travel as Hono's `env`
 * (`c.env`), which costs nothing per request where a context variable would allocate a Map;
 * read them with {@link requestFacts}.
 */
export interface HttpEnv {
  Bindings: RequestState;
}

/**
 * The facts of the request being handled: request id, client IP, subject, abort signal.
 *
 * @example
 * ```ts
 * app.get("/whoami", (c) => c.json({ ip: requestFacts(c).clientIp })); // any context: auth adds jwtPayload
 * ```
 */
export function requestFacts<E extends HttpEnv>(c: Context<E>): RequestFacts {
  return c.env;
}

/** Builds the per-request state; one object, reused options. */
export function stateFactory(
  inflight: InFlight,
  options: {
    readonly trusted: ProxyCheck;
    readonly now: () => number;
    readonly match: RouteMatcher;
    readonly streams: EventStreams;
  },
): (request: Request, peer: PeerInfo | undefined) => RequestState {
  const { trusted, now, match, streams } = options;
  const reused = { now: 0, early: true, trusted, shared: inflight.shared, match, streams };
  return function createState(request, peer) {
    reused.now = now();
    reused.early = !inflight.closing;
    return new RequestState(request, peer, reused);
  };
}

/** The request metrics, registered once when a Meter is present (the in-flight gauge reads at scrape). */
export interface RequestMetrics {
  readonly total: Counter;
  readonly duration: Histogram;
}

/** What the core needs; built once at start. */
export interface CoreOptions {
  /** Routes a request through the Hono app (its `fetch`, with the state as `env`). */
  readonly dispatch: (request: Request, state: RequestState) => Response | Promise<Response>;
  readonly inflight: InFlight;
  readonly bodyLimit: number;
  /** Milliseconds a handler has to answer; 0 for no limit. */
  readonly timeoutMs: number;
  /** Security headers for every response (see securityHeaderList). */
  readonly security: HeaderList;
  /** Security headers for HTML documents only (CSP, opener policy). */
  readonly documentSecurity: HeaderList;
  /** Middleware from other plugins (`HttpRoutes.use`), read per request so late ones apply. */
  readonly middleware: readonly HttpMiddleware[];
  /** Paths answered as probes: no span, metrics, access log or plugin middleware. */
  readonly probes: ReadonlySet<string>;
  readonly logger: Logger;
  readonly accessLog: boolean;
  /** Where answered requests wait for the turn to end before their span, metrics and line are recorded. */
  readonly after: AfterAnswers<Answered>;
  /** Whose incoming baggage reaches the tracer (by client address); `true` for everyone's. */
  readonly baggageFrom: ProxyCheck | true;
  readonly tracer: Tracer | undefined;
  readonly metrics: RequestMetrics | undefined;
  /** `performance.now()`: milliseconds since `performance.timeOrigin` (a span's end is given in epoch ms). */
  readonly now: () => number;
}

/** What is recorded of one answered request, once the turn's answers are out. */
export interface Answered {
  readonly method: string;
  readonly path: string;
  readonly requestId: string;
  readonly span: Span | undefined;
  readonly status: number;
  readonly route: string;
  /** Monotonic milliseconds (`now()`) when the answer was handed over. */
  readonly endedAt: number;
  readonly seconds: number;
}

const UNMATCHED = "unmatched";
/** The status recorded for a request whose client went away before the answer (nginx's 499). */
export const CLIENT_GONE = 499;

/**
 * Everything every request needs, around the Hono app rather than inside it: request id, client
 * facts, body limit, timeout, the server span, RED metrics, the access log, `Connection: close`
 * while draining, and the other plugins' middleware. Outside Hono's chain, a route with no
 * middleware of its own takes Hono's direct path; one layer instead of seven keeps the
 * per-request cost (closures, awaits, header passes) low, and this is where a naive stack of
 * separate middleware loses most of its throughput.
 */
export function requestHandler(options: CoreOptions): (state: RequestState) => Response | Promise<Response> {
  const { dispatch, inflight, probes, tracer, metrics, logger, now, bodyLimit, timeoutMs, middleware } = options;
  const accessLog = options.accessLog;
  const origin = performance.timeOrigin;

  /** The span, the RED metrics and the access line of an answer (see {@link AfterAnswers}). */
  const telemetry = ({ method, path, requestId, span, status, route, endedAt, seconds }: Answered): void => {
    if (span) {
      if (span.isRecording()) {
        span.updateName(`${method} ${route}`);
        span.setAttributes({
          "http.request.method": method,
          "url.path": path,
          "http.route": route,
          "http.response.status_code": status,
          "request.id": requestId,
        });
        if (status >= 500) span.setStatus("error");
      }
      span.end(origin + endedAt);
    }
    if (metrics) {
      metrics.total.inc({ method, route, status });
      metrics.duration.observe({ method, route }, seconds);
    }
    if (accessLog && logger.enabled("info")) {
      logger.info("request", {
        method,
        path,
        route,
        status,
        duration_ms: Math.round(seconds * 100_000) / 100,
        request_id: requestId,
        trace_id: span?.traceId,
        span_id: span?.spanId,
      });
    }
  };
  const after = options.after;
  after.run = telemetry;
  const finish = finisher(options.security, options.documentSecurity, inflight);
  const baggageFrom = options.baggageFrom;

  /**
   * The trace headers the span continues from: baggage only from a client trusted to send it, or
   * from the app itself (an in-process request through HttpHandler has no network client).
   */
  const carrierOf = (state: RequestState): Headers | Record<string, string> => {
    const headers = state.request.headers;
    if (baggageFrom === true || !headers.has("baggage") || state.inProcess || baggageFrom(state.clientIp)) {
      return headers;
    }
    const carrier: Record<string, string> = {};
    const traceparent = headers.get("traceparent");
    if (traceparent !== null) carrier.traceparent = traceparent;
    const tracestate = headers.get("tracestate");
    if (tracestate !== null) carrier.tracestate = tracestate;
    return carrier;
  };

  /**
   * The other plugins' middleware, then the route. Each `next` answers as what follows it does:
   * a synchronous middleware over a synchronous route answers synchronously, with no promise.
   */
  const chain = (state: RequestState): Response | Promise<Response> => {
    const request = state.request;
    // Preflights are CORS's business; counting them against a rate limit would break browsers.
    if (middleware.length === 0 || isPreflight(request)) return dispatch(request, state);
    // Hono answers errors itself rather than throwing; a middleware's throw reaches serve's catch.
    const last = () => dispatch(request, state);
    if (middleware.length === 1) return (middleware[0] as HttpMiddleware)(request, state, last);
    const step = (index: number): Response | Promise<Response> => {
      const mw = middleware[index] as HttpMiddleware;
      return mw(request, state, index + 1 === middleware.length ? last : () => step(index + 1));
    };
    return step(0);
  };

  /** Takes the request out of flight and leaves its span, metrics and access line for after the turn. */
  const record = (
    state: RequestState,
    method: string,
    span: Span | undefined,
    answer: Response,
    waited: boolean,
  ): Response => {
    inflight.delete(state);
    const response = finish(answer, state.requestId);
    // A client that left before the answer got nothing: recorded as such (499, as nginx does), never
    // as the status it missed. A network client can only be seen leaving across a turn of the event
    // loop, so an answer given synchronously skips the read (on Bun reading the signal creates it);
    // an in-process request may arrive with its signal already aborted.
    const gone = (waited || state.inProcess) && state.request.signal.aborted;
    const status = gone ? CLIENT_GONE : response.status;
    const route = routeLabel(state, status);
    const endedAt = now();
    const seconds = (endedAt - state.startedAt) / 1000;
    const answered = { method, path: state.path, requestId: state.requestId, span, status, route, endedAt, seconds };
    after.add(answered, state.inProcess);
    return response;
  };

  /** Waits for work that answered with a promise, under the request timeout, then records it. */
  const settle = async (
    state: RequestState,
    method: string,
    span: Span | undefined,
    work: Promise<Response>,
  ): Promise<Response> => {
    let answer: Response;
    try {
      answer = timeoutMs > 0 ? await raceRequestTimeout(work, state) : await work;
    } catch (error) {
      answer = failure(error, state, logger);
    }
    return record(state, method, span, answer, true);
  };

  /**
   * Answers the request (or refuses it, before any handler, with `refusal`) and records the
   * answer. Work that answers synchronously is recorded and returned synchronously, so the runtime
   * gets a Response rather than a promise and no microtask turn is spent; only work that answers
   * with a promise goes through {@link settle}, with the timeout, 504 and 499 as before.
   */
  const serve = (state: RequestState, refusal?: HttpError): Response | Promise<Response> => {
    // Read once: each read of a Request's method is a call into the runtime.
    const method = state.request.method;
    const span = tracer?.startSpan(method, { kind: "server", carrier: carrierOf(state) });
    inflight.add(state);
    let work: Response | Promise<Response>;
    try {
      if (refusal !== undefined) work = errorResponse(refusal, state.requestId);
      else work = span && tracer ? tracer.withSpan(span, () => chain(state)) : chain(state);
    } catch (error) {
      work = failure(error, state, logger);
    }
    return work instanceof Promise ? settle(state, method, span, work) : record(state, method, span, work, false);
  };

  // Host values seen lately are almost always the one before: remember it rather than re-parse.
  let lastHost: string | undefined;
  return function handle(state: RequestState): Response | Promise<Response> {
    const host = state.request.headers.get("host");
    if (host !== null && host !== lastHost) {
      if (!validHost(host)) return serve(state, badHost(host));
      lastHost = host;
    }
    if (probes.has(state.path)) {
      state.probe = true;
      const answer = dispatch(state.request, state);
      return answer instanceof Promise
        ? answer.then((response) => finish(response, state.requestId))
        : finish(answer, state.requestId);
    }
    const request = state.request;
    const length = request.headers.get("content-length");
    if (length !== null) {
      if (Number(length) > bodyLimit) return serve(state, bodyTooLarge(bodyLimit));
    } else if (request.body !== null) {
      // A body of any method counts, GET, HEAD and DELETE included: the limit is about memory.
      state.request = limitBody(request, bodyLimit);
    }
    return serve(state);
  };
}

/**
 * The route label of an answer: the route that answered, else (an answer given before routing:
 * a 429, a 413) the one the request would have matched; `unmatched` when none, so paths never
 * become labels.
 */
function routeLabel(state: RequestState, status: number): string {
  const noted = state.noted;
  if (noted !== undefined) return status === 404 && noted === ALL_PATHS ? UNMATCHED : noted;
  if (status === 404) return UNMATCHED;
  return state.route ?? UNMATCHED;
}

/** A CORS preflight: OPTIONS asking for a method. Other OPTIONS requests are like any request. */
function isPreflight(request: Request): boolean {
  return request.method === "OPTIONS" && request.headers.has("access-control-request-method");
}

/**
 * RFC 9112 section 3.2: a request whose Host is empty, repeated or malformed is a 400. A request
 * without Host passes: Bun and Node refuse an HTTP/1.1 one themselves, so what arrives is
 * HTTP/1.0 (a load balancer's health check), routed by its real path.
 */
function badHost(host: string): HttpError {
  return httpErrors.create(
    "TF_HTTP_BAD_REQUEST",
    { reason: `invalid Host header: ${JSON.stringify(host.slice(0, 100))}` },
    { detail: "The Host header is missing, repeated or malformed" },
  );
}

/**
 * Races the handler against the request's timeout. Not the kernel's `withDeadline`: no timer per
 * request here; the in-flight sweeper fires every overdue request's `expire` from one interval.
 */
function raceRequestTimeout(work: Promise<Response>, state: RequestState): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    state.expire = (reason) => {
      resolve(errorResponse(reason, state.requestId));
    };
    work.then(
      (response) => {
        state.expire = undefined;
        resolve(response);
      },
      (error: unknown) => {
        state.expire = undefined;
        reject(error);
      },
    );
  });
}

/** A middleware from another plugin threw (Hono's onError handles the routes' own errors). */
function failure(error: unknown, state: RequestState, logger: Logger): Response {
  if (error instanceof HttpError) return errorResponse(error, state.requestId);
  logger.error("request failed", { error, request_id: state.requestId });
  return problemResponse("TF_HTTP_INTERNAL", { requestId: state.requestId });
}

/**
 * Sets what every response gets; a frozen response (a proxied fetch) is copied first. Nothing in
 * the stack adds `X-Powered-By` or `Server`, so there is nothing to strip per request.
 */
function finisher(security: HeaderList, documentSecurity: HeaderList, inflight: InFlight) {
  return function finish(response: Response, requestId: string): Response {
    let answer = response;
    let headers = answer.headers;
    try {
      headers.set("x-request-id", requestId);
    } catch {
      answer = new Response(answer.body, answer);
      headers = answer.headers;
      headers.set("x-request-id", requestId);
    }
    for (const [name, value] of security) headers.set(name, value);
    if (inflight.closing) headers.set("connection", "close");
    const type = headers.get("content-type");
    if (type?.startsWith("text/html")) for (const [name, value] of documentSecurity) headers.set(name, value);
    return answer;
  };
}
