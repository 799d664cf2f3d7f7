import type { RequestFacts } from "@twelvefold/kernel";
import { NO_TRUSTED_PROXY, type ProxyCheck, resolveClientIp } from "./client-ip.ts";
import type { HttpError } from "./errors.ts";
import { normalizePath } from "./path.ts";
import type { EventStreams } from "./sse.ts";

/** An incoming X-Request-Id is honoured only in this shape, so it cannot inject into logs. */
const WELL_FORMED_ID = /^[\w.:-]{8,128}$/;

/** The request id: the incoming one when well formed, else a fresh UUID. */
export function requestIdOf(request: Request): string {
  const incoming = request.headers.get("x-request-id");
  return incoming !== null && WELL_FORMED_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** What the http plugin's context carries per request besides the request. */
export interface PeerInfo {
  readonly remoteAddress: string | undefined;
  /** Lifts the runtime's idle timeout off this connection until the returned function is called. */
  keepOpen?(): () => void;
}

/**
 * One request in flight: its facts for middleware, its abort signal, and its place in the
 * in-flight set that timeouts and the drain walk. Derived values (client IP, signal) are built
 * only when read: the hot path allocates this object and nothing else.
 */
export class RequestState implements RequestFacts {
  /** The request; replaced by one whose body is counted when it declares no length (chunked). */
  request: Request;
  /** The normalized path (see {@link normalizePath}): Hono is given it, and every path rule reads it. */
  readonly path: string;
  readonly requestId: string;
  readonly startedAt: number;
  /** True when the request began before draining did; the drain waits for these first. */
  readonly early: boolean;
  subject: string | undefined = undefined;
  /** The template of the route that answered, noted by the router as its handler runs. */
  noted: string | undefined = undefined;
  /** A probe: no span, metrics, access log or plugin middleware. */
  probe = false;
  /** Set while the request waits on its timeout; resolving it answers 504. */
  expire: ((reason: HttpError) => void) | undefined = undefined;
  readonly #peer: PeerInfo | undefined;
  readonly #trusted: ProxyCheck;
  readonly #shared: AbortSignal;
  readonly #match: RouteMatcher;
  #clientIp: string | undefined;
  #controller: AbortController | undefined;
  #signal: AbortSignal | undefined;

  constructor(request: Request, peer: PeerInfo | undefined, options: RequestStateOptions) {
    this.request = request;
    this.path = normalizePath(request.url);
    this.requestId = requestIdOf(request);
    this.startedAt = options.now;
    this.early = options.early;
    this.#peer = peer;
    this.#trusted = options.trusted;
    this.#shared = options.shared;
    this.#match = options.match;
    this.streams = options.streams;
  }

  /** The plugin's open event streams, for the server-sent events helper. */
  readonly streams: EventStreams | undefined;

  /** True for a request made in-process (`HttpHandler.fetch`), which no network client sent. */
  get inProcess(): boolean {
    return this.#peer === undefined;
  }

  /** Keeps this request's connection open past the runtime's idle timeout (a long-lived stream). */
  keepOpen(): () => void {
    return this.#peer?.keepOpen?.() ?? noop;
  }

  /** The route that answered, else the one the request would match (for answers given before routing). */
  get route(): string | undefined {
    return this.noted ?? this.#match(this.request.method, this.path);
  }

  get clientIp(): string {
    if (this.#clientIp !== undefined) return this.#clientIp;
    const peer = this.#peer?.remoteAddress;
    this.#clientIp =
      (this.#trusted === NO_TRUSTED_PROXY
        ? peer
        : resolveClientIp(peer, this.request.headers.get("x-forwarded-for"), this.#trusted)) ?? "unknown";
    return this.#clientIp;
  }

  get signal(): AbortSignal {
    if (this.#signal === undefined) {
      this.#controller ??= new AbortController();
      this.#signal = AbortSignal.any([this.request.signal, this.#controller.signal, this.#shared]);
    }
    return this.#signal;
  }

  /** Aborts this request's work (timeout, drain deadline). */
  abort(reason: HttpError): void {
    this.#controller ??= new AbortController();
    this.#controller.abort(reason);
    const expire = this.expire;
    this.expire = undefined;
    expire?.(reason);
  }
}

/** Options for {@link RequestState}. */
export interface RequestStateOptions {
  readonly now: number;
  readonly early: boolean;
  readonly trusted: ProxyCheck;
  /** Aborted for every request at once when the drain deadline passes. */
  readonly shared: AbortSignal;
  /** The template of the route a method and path match, if any. */
  readonly match: RouteMatcher;
  /** The plugin's open event streams (keep-alive interval, drain). */
  readonly streams?: EventStreams;
}

const noop = () => {};

/** Finds the template of the route a method and path match (the router's, once it is open). */
export type RouteMatcher = (method: string, path: string) => string | undefined;
