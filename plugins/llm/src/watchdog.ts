import type { ChatCallOptions } from "@twelvefold/kernel";
import { callError, type TimeoutPhase } from "./errors.ts";

/** The stream watchdog's limits, in ms; 0 turns one off. */
export interface WatchdogLimits {
  /** From the request to the first sign of an answer (LLM_FIRST_CHUNK_TIMEOUT_MS). */
  readonly firstChunkMs: number;
  /** Waiting for the next chunk once the stream has begun (LLM_IDLE_TIMEOUT_MS). */
  readonly idleMs: number;
  /** The whole attempt, first byte to last (LLM_TIMEOUT_MS). */
  readonly totalMs: number;
}

/** The watchdog limits with the plugin's defaults. */
export const defaultWatchdogLimits: WatchdogLimits = { firstChunkMs: 60_000, idleMs: 30_000, totalMs: 300_000 };

/** Who is being watched, for the timeout's message. */
export interface Watched {
  readonly provider: string;
  readonly model: string;
}

const describe: Readonly<Record<TimeoutPhase, string>> = {
  first_chunk: "no first chunk",
  idle: "no chunk",
  deadline: "not finished",
};

/**
 * One attempt's timers. Rather than a timer reset per chunk, activity only notes the time, and
 * the single timer, when it fires, re-arms itself for what is left: a chunk costs one clock read.
 */
class Timers {
  readonly controller = new AbortController();
  readonly #limits: WatchdogLimits;
  readonly #who: Watched;
  readonly #began = performance.now();
  #last = this.#began;
  #seen = false;
  #waiting = true;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(limits: WatchdogLimits, who: Watched, stream: boolean) {
    this.#limits = stream ? limits : { firstChunkMs: 0, idleMs: 0, totalMs: limits.totalMs };
    this.#who = who;
    this.#check();
  }

  /** Something arrived from the provider. */
  activity(): void {
    this.#last = performance.now();
    this.#seen = true;
  }

  /** The caller asks for the next chunk: the idle clock runs only while we wait on the provider. */
  waiting(on: boolean): void {
    this.#waiting = on;
    if (on) this.#last = performance.now();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #check = (): void => {
    const now = performance.now();
    const { totalMs } = this.#limits;
    if (totalMs > 0 && now - this.#began >= totalMs) {
      this.#fire("deadline", totalMs);
      return;
    }
    const limit = this.#seen ? this.#limits.idleMs : this.#limits.firstChunkMs;
    let next = totalMs > 0 ? this.#began + totalMs - now : Number.POSITIVE_INFINITY;
    if (limit > 0) {
      if (this.#waiting && now - this.#last >= limit) {
        this.#fire(this.#seen ? "idle" : "first_chunk", limit);
        return;
      }
      next = Math.min(next, this.#waiting ? this.#last + limit - now : limit);
    }
    if (Number.isFinite(next)) this.#timer = setTimeout(this.#check, Math.max(1, Math.ceil(next)));
  };

  #fire(phase: TimeoutPhase, ms: number): void {
    this.controller.abort(callError("TF_LLM_TIMEOUT", this.#who, `${describe[phase]} within ${ms} ms`, { phase }));
  }
}

function abortPromise(signal: AbortSignal): Promise<never> {
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  return aborted;
}

function linked(caller: AbortSignal | undefined, own: AbortSignal): AbortSignal {
  return caller ? AbortSignal.any([caller, own]) : own;
}

/**
 * Runs one streaming attempt under the watchdog: a first-chunk timeout, an idle timeout between
 * chunks and a total deadline, each a retryable `TF_LLM_TIMEOUT` naming its `phase`. The attempt
 * is aborted through its signal, and the wait for it is abandoned at once even if the adapter
 * ignores the signal, so a stalled stream can never hang its caller (openai/openai-node#419).
 *
 * @example
 * ```ts
 * for await (const chunk of watchStream((o) => model.stream(request, o), limits, model, { signal })) render(chunk);
 * ```
 */
export async function* watchStream<T>(
  open: (options: ChatCallOptions) => AsyncIterable<T>,
  limits: WatchdogLimits,
  who: Watched,
  call: ChatCallOptions = {},
): AsyncGenerator<T> {
  const timers = new Timers(limits, who, true);
  const signal = linked(call.signal, timers.controller.signal);
  const aborted = abortPromise(signal);
  const onActivity = call.onActivity
    ? () => {
        timers.activity();
        call.onActivity?.();
      }
    : () => timers.activity();
  let iterator: AsyncIterator<T> | undefined;
  let finished = false;
  try {
    iterator = open({ signal, onActivity })[Symbol.asyncIterator]();
    for (;;) {
      timers.waiting(true);
      const result = await Promise.race([iterator.next(), aborted]).catch((error: unknown) => {
        throw signal.aborted ? signal.reason : error;
      });
      timers.waiting(false);
      if (signal.aborted) throw signal.reason;
      if (result.done) {
        finished = true;
        return;
      }
      timers.activity();
      yield result.value;
    }
  } finally {
    timers.stop();
    if (!finished) {
      // The consumer left early or the attempt failed: cancel the request, and do not wait on an
      // adapter that may never answer.
      if (!timers.controller.signal.aborted) timers.controller.abort(new DOMException("stream closed", "AbortError"));
      iterator?.return?.()?.catch(() => {});
    }
  }
}

/**
 * Runs one non-streaming attempt under the total deadline (a completion has no chunks to watch).
 *
 * @example
 * ```ts
 * const response = await watchCall((o) => model.complete(request, o), limits, model, { signal });
 * ```
 */
export async function watchCall<T>(
  run: (options: ChatCallOptions) => Promise<T>,
  limits: WatchdogLimits,
  who: Watched,
  call: ChatCallOptions = {},
): Promise<T> {
  const timers = new Timers(limits, who, false);
  const signal = linked(call.signal, timers.controller.signal);
  try {
    const result = await Promise.race([run({ signal, onActivity: call.onActivity }), abortPromise(signal)]).catch(
      (error: unknown) => {
        throw signal.aborted ? signal.reason : error;
      },
    );
    if (signal.aborted) throw signal.reason;
    return result;
  } finally {
    timers.stop();
  }
}
