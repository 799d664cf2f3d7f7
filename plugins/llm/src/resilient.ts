import type {
  ChatCallOptions,
  ChatChunk,
  ChatModel,
  ChatRequest,
  ChatResponse,
  GenAiModel,
  ToolCall,
} from "@twelvefold/kernel";
import { type BreakerOptions, type BreakerState, CircuitBreaker, defaultBreakerOptions } from "./breaker.ts";
import type { ConcurrencyLimit } from "./concurrency.ts";
import { callError, type Delivered, isRetryable, type LlmError, llmErrors, statusOf } from "./errors.ts";
import { defaultRetryPolicy, type RetryPolicy, retryDelay, sleep } from "./retry.ts";
import { createInstruments, type Instruments } from "./telemetry.ts";
import { defaultWatchdogLimits, type WatchdogLimits, watchCall, watchStream } from "./watchdog.ts";

/** Options of {@link resilientModel}. Every field has a default. */
export interface ResilienceOptions {
  readonly retry?: RetryPolicy;
  readonly watchdog?: WatchdogLimits;
  readonly breaker?: BreakerOptions;
  /** The process-wide cap on calls in flight; shared by every model built with it. */
  readonly limit?: ConcurrencyLimit;
  readonly instruments?: Instruments;
  /** Breakers by `provider/model`; pass one map to models that must share them. */
  readonly breakers?: Map<string, CircuitBreaker>;
  /** Draws for the backoff's jitter, in [0, 1) (tests pin it). */
  readonly random?: () => number;
}

/** A model with retries, a watchdog, breakers, a concurrency cap and fallbacks around it. */
export interface ResilientModel extends ChatModel {
  /** The models tried, in order, each with its breaker's state. */
  readonly chain: ReadonlyArray<GenAiModel & { readonly state: BreakerState }>;
}

interface Link {
  readonly model: ChatModel;
  readonly breaker: CircuitBreaker;
}

function breakerFor(
  model: ChatModel,
  options: ResilienceOptions,
  instruments: Instruments,
  map: Map<string, CircuitBreaker>,
) {
  const key = `${model.provider}/${model.model}`;
  let breaker = map.get(key);
  if (!breaker) {
    breaker = new CircuitBreaker(options.breaker ?? defaultBreakerOptions, {
      onChange: (state) => instruments.breaker(model, state),
    });
    map.set(key, breaker);
  }
  return breaker;
}

/** A failure that says the provider is in trouble; a 400 or an auth failure says it answered. */
function judge(breaker: CircuitBreaker, error: unknown): void {
  const code = (error as { code?: unknown }).code;
  if (code === "TF_LLM_CIRCUIT_OPEN" || code === "TF_LLM_OVERLOADED") breaker.release();
  else if (isRetryable(error)) breaker.failure();
  else breaker.success();
}

function circuitOpen(model: ChatModel, retryAfterMs: number): LlmError {
  return callError(
    "TF_LLM_CIRCUIT_OPEN",
    model,
    `circuit open after repeated failures: next probe in ${retryAfterMs} ms`,
    {
      retryAfterMs,
    },
  );
}

function interrupted(model: ChatModel, error: unknown, delivered: Delivered): LlmError {
  const reason = error instanceof Error ? error.message : String(error);
  return callError(
    "TF_LLM_STREAM_INTERRUPTED",
    model,
    `stream failed after ${delivered.chunks} chunks (${delivered.characters} characters) reached the caller, so it is not retried: ${reason}`,
    { cause: error, status: statusOf(error), delivered },
  );
}

function exhausted(chain: readonly Link[], errors: readonly unknown[]): unknown {
  if (errors.length === 1) return errors[0];
  const last = errors.at(-1);
  const reason = last instanceof Error ? last.message : String(last);
  return llmErrors.create(
    "TF_LLM_UNAVAILABLE",
    { models: chain.map((l) => l.model.model), last: reason },
    { cause: last, retryable: errors.every(isRetryable), status: statusOf(last), errors },
  );
}

/**
 * Wraps one model, or an ordered fallback chain of models, in the plugin's resilience policy:
 * - retries on retryable failures (429, 5xx, connection errors, timeouts) with exponential
 *   backoff and full jitter, waiting at least the provider's Retry-After up to `maxWaitMs`;
 * - a stream watchdog per attempt (first chunk, idle, total deadline);
 * - a circuit breaker per provider and model that fails fast while open;
 * - fallback: when a model fails retryably after its retries, or its breaker is open, the next
 *   one answers, and the response's `model` says which did;
 * - never a retry or a fallback once a streamed chunk has reached the caller: that failure is a
 *   `TF_LLM_STREAM_INTERRUPTED` saying how much was delivered;
 * - the concurrency cap, one slot per call, held across its retries.
 *
 * @example
 * ```ts
 * const model = resilientModel([openaiModel({ model: "gpt-4o" }), openaiModel({ model: "gpt-4o-mini" })], {
 *   retry: { maxRetries: 2, baseMs: 500, capMs: 8_000, maxWaitMs: 60_000 },
 * });
 * const reply = await model.complete({ messages: [{ role: "user", content: "Hi" }] });
 * reply.model; // "gpt-4o", or "gpt-4o-mini" when gpt-4o was failing
 * ```
 */
export function resilientModel(
  models: ChatModel | readonly ChatModel[],
  options: ResilienceOptions = {},
): ResilientModel {
  const list = Array.isArray(models) ? (models as readonly ChatModel[]) : [models as ChatModel];
  const first = list[0];
  if (!first) throw new RangeError("llm: a resilient model needs at least one model");
  const instruments = options.instruments ?? createInstruments();
  const breakers = options.breakers ?? new Map<string, CircuitBreaker>();
  const chain: Link[] = list.map((model) => ({ model, breaker: breakerFor(model, options, instruments, breakers) }));
  const retry = options.retry ?? defaultRetryPolicy;
  const limits = options.watchdog ?? defaultWatchdogLimits;
  const random = options.random ?? Math.random;

  /** After a failed attempt: retry the same model (after a wait), or move on to the next one. */
  async function afterFailure(
    link: Link,
    tries: number,
    error: unknown,
    signal: AbortSignal | undefined,
    errors: unknown[],
  ) {
    if (signal?.aborted) {
      link.breaker.release();
      throw signal.reason;
    }
    judge(link.breaker, error);
    const wait = retryDelay(retry, tries, error, random);
    if (wait === undefined) {
      if (!isRetryable(error)) throw error;
      errors.push(error);
      return "next" as const;
    }
    instruments.retry(link.model, error, tries, wait);
    await sleep(wait, signal);
    return "retry" as const;
  }

  /** Whether `link` may be tried now; when not, its refusal joins `errors`. */
  function admitted(link: Link, errors: unknown[]): boolean {
    const admission = link.breaker.admit();
    if (!admission.allowed) errors.push(circuitOpen(link.model, admission.retryAfterMs));
    return admission.allowed;
  }

  async function complete(request: ChatRequest, call: ChatCallOptions = {}): Promise<ChatResponse> {
    const release = await options.limit?.acquire(call.signal);
    try {
      const errors: unknown[] = [];
      for (const [i, link] of chain.entries()) {
        if (i > 0) instruments.fallback((chain[i - 1] as Link).model, link.model, errors.at(-1));
        for (let tries = 0; admitted(link, errors); tries++) {
          const { model } = link;
          const operation = instruments.begin(model, request, false);
          try {
            const response = await watchCall((o) => model.complete(request, o), limits, model, call);
            operation.succeed(response);
            link.breaker.success();
            return response;
          } catch (error) {
            if (call.signal?.aborted) operation.cancel();
            else operation.fail(error);
            if ((await afterFailure(link, tries, error, call.signal, errors)) === "next") break;
          }
        }
      }
      throw exhausted(chain, errors);
    } finally {
      release?.();
    }
  }

  async function* stream(request: ChatRequest, call: ChatCallOptions = {}): AsyncGenerator<ChatChunk> {
    const release = await options.limit?.acquire(call.signal);
    try {
      const errors: unknown[] = [];
      for (const [i, link] of chain.entries()) {
        if (i > 0) instruments.fallback((chain[i - 1] as Link).model, link.model, errors.at(-1));
        for (let tries = 0; admitted(link, errors); tries++) {
          const { model } = link;
          const operation = instruments.begin(model, request, true);
          const delivered = { chunks: 0, characters: 0 };
          let text = "";
          const calls: ToolCall[] = [];
          let judged = false;
          try {
            for await (const chunk of watchStream((o) => model.stream(request, o), limits, model, call)) {
              if (chunk.type === "done") {
                operation.succeed({ ...chunk, content: text, toolCalls: calls });
                link.breaker.success();
                judged = true;
              } else {
                if (delivered.chunks === 0) operation.firstChunk();
                delivered.chunks++;
                if (chunk.type === "text") {
                  delivered.characters += chunk.text.length;
                  text += chunk.text;
                } else calls.push(chunk.call);
              }
              yield chunk;
            }
            return;
          } catch (error) {
            judged = true;
            if (call.signal?.aborted) operation.cancel();
            else operation.fail(error);
            if (delivered.chunks > 0 && !call.signal?.aborted) {
              judge(link.breaker, error);
              throw interrupted(model, error, delivered);
            }
            if ((await afterFailure(link, tries, error, call.signal, errors)) === "next") break;
          } finally {
            // The caller stopped reading before the end: no verdict on the provider.
            if (!judged) {
              operation.cancel();
              link.breaker.release();
            }
          }
        }
      }
      throw exhausted(chain, errors);
    } finally {
      release?.();
    }
  }

  return {
    provider: first.provider,
    model: first.model,
    get chain() {
      return chain.map(({ model, breaker }) => ({
        provider: model.provider,
        model: model.model,
        state: breaker.state,
      }));
    },
    complete,
    stream,
  };
}
