/**
 * Server-sent events framing for a run's stream: `id:` and `data:` per event, a comment line
 * when the stream has been quiet for a while, and `retry:` when the web replica drains.
 *
 * This is the narrow seam until the http plugin's SSE helper is on main (issue 9): plugins do not
 * import each other, so that helper will reach this plugin through a kernel contract, and this
 * file then goes.
 */

/** One event as the stream writes it. */
export interface SseEvent {
  readonly id: string;
  /** One line of text (JSON has no raw line breaks). */
  readonly data: string;
}

/** Options of {@link sseResponse}. */
export interface SseOptions {
  /** A comment line after this much quiet, in ms. */
  readonly keepAliveMs: number;
  /** The `retry:` hint written when `draining` aborts, in ms. */
  readonly retryMs: number;
  /** Aborts when the replica begins draining: the stream then ends with `retry:`. */
  readonly draining?: AbortSignal;
  readonly headers?: Readonly<Record<string, string>>;
}

const encoder = new TextEncoder();

/** Why the source was stopped: the stream's reader left, or the replica drains. */
export class StreamEnded extends Error {
  override name = "StreamEnded";
}

/**
 * A `text/event-stream` response of the events `open` yields. `open` gets a signal that aborts
 * when the client goes away or the replica drains; the stream ends when the events do.
 *
 * @example
 * ```ts
 * return sseResponse((signal) => runs.events(runId, { after, signal }), { keepAliveMs: 5000, retryMs: 1000 });
 * ```
 */
export function sseResponse(open: (signal: AbortSignal) => AsyncIterable<SseEvent>, options: SseOptions): Response {
  const stop = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const body = new ReadableStream<Uint8Array>({
    start(sink) {
      const write = (text: string) => {
        if (!closed) sink.enqueue(encoder.encode(text));
      };
      const quiet = () => {
        clearTimeout(timer);
        timer = setTimeout(function keepAlive() {
          write(": keep-alive\n\n");
          quiet();
        }, options.keepAliveMs);
      };
      const { draining } = options;
      const onDrain = () => stop.abort(new StreamEnded("the replica is draining"));
      if (draining?.aborted) onDrain();
      draining?.addEventListener("abort", onDrain, { once: true });
      quiet();
      (async function pump() {
        try {
          for await (const event of open(stop.signal)) {
            write(`id: ${event.id}\ndata: ${event.data}\n\n`);
            quiet();
          }
        } catch {
          // The source stopped: the client left or the replica drains (both end the stream below).
        } finally {
          clearTimeout(timer);
          draining?.removeEventListener("abort", onDrain);
          // Draining: tell the client when to come back (to another replica, through the balancer).
          if (draining?.aborted) write(`retry: ${options.retryMs}\n\n`);
          if (!closed) {
            closed = true;
            sink.close();
          }
        }
      })();
    },
    cancel() {
      closed = true;
      clearTimeout(timer);
      stop.abort(new StreamEnded("the client went away"));
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
      ...options.headers,
    },
  });
}
