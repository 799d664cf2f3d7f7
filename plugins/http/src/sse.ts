import type { Logger } from "@twelvefold/kernel";
import type { Context } from "hono";
import type { HttpEnv } from "./core.ts";
import { RequestState } from "./request.ts";

/** One server-sent event. */
export interface ServerEvent {
  /**
   * The event's id. A client that reconnects sends the last id it received as `Last-Event-ID`
   * ({@link EventStream.lastEventId}), so a stream whose events carry ids can resume where the
   * client left off. No line breaks or NUL.
   */
  readonly id?: string;
  /** The event type (`event:`); a browser's `EventSource` calls it `message` when left out. */
  readonly event?: string;
  /** The payload: a string as it is (one `data:` line per line), anything else as JSON. */
  readonly data: unknown;
}

/** The open stream a producer writes to. */
export interface EventStream {
  /** The `Last-Event-ID` the client sent on reconnecting, to resume after; `undefined` on a first connect. */
  readonly lastEventId: string | undefined;
  /**
   * Aborts when the client goes away or the stream ends (closed, or ended at drain). Pass it to
   * whatever the events come from, so a producer waiting for its next event stops at once.
   */
  readonly signal: AbortSignal;
  /**
   * Writes one event. Resolves once the event is queued; while the client reads slower than the
   * producer writes, it waits for room, so a slow client holds back the producer rather than
   * filling memory. After the stream has ended it does nothing.
   */
  send(event: ServerEvent): Promise<void>;
  /** Ends the stream (the producer returning ends it too). */
  close(): void;
}

/** What produces a stream's events: an async iterable of events, or a function that writes them. */
export type EventSource = AsyncIterable<ServerEvent> | ((stream: EventStream) => void | Promise<void>);

/** Options for {@link eventStream}. */
export interface EventStreamOptions {
  /**
   * Called when the server begins to drain, before the stream ends: the place to send a last
   * event (say, where the run stands) before the client is told to reconnect elsewhere.
   */
  readonly onDrain?: (stream: EventStream) => void | Promise<void>;
  /**
   * The `retry:` hint, in milliseconds, sent as the stream ends at drain: how long the client
   * waits before reconnecting, to another replica. Default 1000.
   */
  readonly retryMs?: number;
  /** More response headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Defaults when a stream is served outside the plugin's own request handling (`app.fetch` in a test). */
const DEFAULT_KEEPALIVE_MS = 15_000;
const DEFAULT_RETRY_MS = 1_000;
const KEEPALIVE = new TextEncoder().encode(": keep-alive\n\n");
/** Events queued for a client before `send` waits for it to read. */
const QUEUED_EVENTS = 16;

/**
 * The http plugin's open event streams: their keep-alive interval (HTTP_SSE_KEEPALIVE_MS), and
 * the drain, which ends each one cleanly (its `onDrain`, then a `retry:` hint) before the
 * listener closes, so no stream holds the drain up to its deadline.
 */
export class EventStreams {
  readonly keepAliveMs: number;
  readonly #logger: Logger | undefined;
  readonly #open = new Set<OpenStream>();
  #ending = false;

  constructor(keepAliveMs: number, logger?: Logger) {
    this.keepAliveMs = keepAliveMs;
    this.#logger = logger;
  }

  get size(): number {
    return this.#open.size;
  }

  /** True once the drain began ending streams: a stream opened now ends at once. */
  get ending(): boolean {
    return this.#ending;
  }

  add(stream: OpenStream): void {
    this.#open.add(stream);
  }

  delete(stream: OpenStream): void {
    this.#open.delete(stream);
  }

  failed(error: unknown): void {
    this.#logger?.error("event stream failed", { error });
  }

  /** Ends every open stream, each after its `onDrain`; resolves when all have ended. */
  async endAll(): Promise<void> {
    this.#ending = true;
    await Promise.all([...this.#open].map((stream) => stream.drain()));
  }
}

/** One open stream: the writer, its keep-alive timer, and its end. */
class OpenStream implements EventStream {
  readonly lastEventId: string | undefined;
  readonly #controller = new AbortController();
  readonly #registry: EventStreams | undefined;
  readonly #options: EventStreamOptions;
  readonly #release: () => void;
  readonly #encoder = new TextEncoder();
  #writer: ReadableStreamDefaultController<Uint8Array> | undefined;
  #room: (() => void) | undefined;
  #wrote = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly body: ReadableStream<Uint8Array>;

  constructor(state: RequestState | undefined, lastEventId: string | undefined, options: EventStreamOptions) {
    this.lastEventId = lastEventId;
    this.#registry = state?.streams;
    this.#options = options;
    // Bun counts a quiet stream as idle: keep its connection open until the stream ends.
    this.#release = state?.keepOpen() ?? (() => {});
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#writer = controller;
        },
        pull: () => this.#wake(),
        cancel: () => this.#end(),
      },
      { highWaterMark: QUEUED_EVENTS },
    );
    const every = this.#registry?.keepAliveMs ?? DEFAULT_KEEPALIVE_MS;
    this.#timer = setInterval(() => this.#keepAlive(), every);
    (this.#timer as { unref?: () => void }).unref?.();
    this.#registry?.add(this);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  async send(event: ServerEvent): Promise<void> {
    const writer = this.#writer;
    if (writer === undefined || this.signal.aborted) return;
    writer.enqueue(this.#encoder.encode(formatEvent(event)));
    this.#wrote = true;
    if ((writer.desiredSize ?? 1) <= 0 && !this.signal.aborted) {
      await new Promise<void>((resolve) => {
        this.#room = resolve;
      });
    }
  }

  close(): void {
    if (this.signal.aborted) return;
    try {
      this.#writer?.close();
    } catch {
      // Already cancelled by the client.
    }
    this.#end();
  }

  /** At drain: the producer's last word, then the retry hint, then the end. */
  async drain(): Promise<void> {
    if (this.signal.aborted) return;
    try {
      await this.#options.onDrain?.(this);
    } catch (error) {
      this.#registry?.failed(error);
    }
    if (this.signal.aborted) return;
    this.#writer?.enqueue(this.#encoder.encode(`retry: ${this.#options.retryMs ?? DEFAULT_RETRY_MS}\n\n`));
    this.close();
  }

  /** Runs the producer; the stream ends when it returns, and a failure is logged, not sent. */
  async run(source: EventSource): Promise<void> {
    try {
      if (typeof source === "function") await source(this);
      else {
        for await (const event of source) {
          if (this.signal.aborted) break;
          await this.send(event);
        }
      }
    } catch (error) {
      if (!this.signal.aborted) this.#registry?.failed(error);
    } finally {
      this.close();
    }
  }

  #keepAlive(): void {
    if (!this.#wrote && !this.signal.aborted) {
      try {
        this.#writer?.enqueue(KEEPALIVE);
      } catch {
        this.#end();
      }
    }
    this.#wrote = false;
  }

  #wake(): void {
    const room = this.#room;
    this.#room = undefined;
    room?.();
  }

  #end(): void {
    clearInterval(this.#timer);
    this.#registry?.delete(this);
    if (!this.signal.aborted) this.#controller.abort(new DOMException("The event stream ended", "AbortError"));
    this.#wake();
    this.#release();
  }
}

/** A field value must not break its line. */
function fieldValue(name: string, value: string): string {
  if (/[\r\n\0]/.test(value))
    throw new TypeError(`http: server-sent event ${name} must be one line: got ${JSON.stringify(value)}`);
  return value;
}

/**
 * One event in the `text/event-stream` format: `id:`, `event:`, one `data:` line per line of
 * data, and a blank line.
 */
export function formatEvent(event: ServerEvent): string {
  let out = "";
  if (event.id !== undefined) out += `id: ${fieldValue("id", event.id)}\n`;
  if (event.event !== undefined) out += `event: ${fieldValue("event", event.event)}\n`;
  const data = typeof event.data === "string" ? event.data : JSON.stringify(event.data);
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/**
 * Answers with a server-sent event stream (`text/event-stream`) whose events come from `source`:
 * an async iterable of events, or a function that writes them to the {@link EventStream}. Once its
 * headers are out the stream is not subject to HTTP_REQUEST_TIMEOUT_MS: it lives as long as it has
 * something to say, with a `: keep-alive` comment every HTTP_SSE_KEEPALIVE_MS when it has not, so
 * proxies and the runtime's idle timeout leave it open. It ends when the source ends, when the
 * client goes away (`stream.signal` aborts), or at drain: `onDrain` runs, a `retry:` hint goes
 * out, and the stream closes, so the client reconnects with `Last-Event-ID` to another replica.
 * A source that throws ends the stream and is logged; the client reconnects and resumes.
 *
 * @example
 * ```ts
 * app.get("/runs/:id/events", (c) =>
 *   eventStream(c, async (stream) => {
 *     for await (const entry of log.read(c.req.param("id"), { after: stream.lastEventId, signal: stream.signal })) {
 *       await stream.send({ id: entry.id, event: entry.type, data: entry.data });
 *     }
 *   }),
 * );
 * ```
 */
export function eventStream(c: Context<HttpEnv>, source: EventSource, options: EventStreamOptions = {}): Response {
  const env: unknown = c.env;
  const state = env instanceof RequestState ? env : undefined;
  const lastEventId = c.req.header("last-event-id") || undefined;
  const stream = new OpenStream(state, lastEventId, options);
  if (state?.streams?.ending) void stream.drain();
  else void stream.run(source);
  return new Response(stream.body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // nginx buffers proxied responses unless told not to; a buffered stream says nothing.
      "x-accel-buffering": "no",
      ...options.headers,
    },
  });
}
