import {
  type ChatMessage,
  type ChatRequest,
  type ChatUsage,
  chatMetrics,
  endChatSpan,
  type GenAiModel,
  type GenAiResult,
  type Histogram,
  type Logger,
  type Meter,
  noopTracer,
  startChatSpan,
  type ToolCall,
  type Tracer,
} from "@twelvefold/kernel";
import type { BreakerState } from "./breaker.ts";
import { costOf, type PriceTable } from "./cost.ts";
import { statusOf } from "./errors.ts";

/** The Prometheus names of the plugin's metrics (the GenAI convention's, dots made underscores). */
export const llmMetricNames = {
  /** Histogram in seconds; labels gen_ai_operation_name, gen_ai_provider_name, gen_ai_request_model, gen_ai_response_model, error_type. */
  operationDuration: "gen_ai_client_operation_duration_seconds",
  /** Histogram in tokens; the labels above but error_type, plus gen_ai_token_type (`input`, `output`). */
  tokenUsage: "gen_ai_client_token_usage",
  /** Histogram in seconds, streamed calls only; labels gen_ai_operation_name, gen_ai_provider_name, gen_ai_request_model. */
  timeToFirstChunk: "gen_ai_client_operation_time_to_first_chunk_seconds",
  /** Counter; labels provider, model, code (the failure that was retried). */
  retries: "llm_retries_total",
  /** Counter; labels from, to (models). */
  fallbacks: "llm_fallbacks_total",
  /** Counter; labels provider, model, state (the state entered). */
  breakerTransitions: "llm_breaker_transitions_total",
  /** Gauge; labels provider, model: 0 closed, 1 half open, 2 open. */
  breakerState: "llm_breaker_state",
  /** Counter in US dollars, from LLM_PRICES; label model. */
  cost: "llm_cost_usd_total",
} as const;

/** Bucket boundaries the GenAI semantic conventions give for these histograms. */
const durationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const tokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const firstChunkBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const stateValue: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 };

/** What a finished call reports to its operation. */
export interface Outcome extends GenAiResult {
  readonly content?: string;
  readonly toolCalls?: readonly ToolCall[];
}

/** One model call (one attempt) being recorded: a span, its timings and its figures. */
export interface Operation {
  /** The first chunk arrived. */
  firstChunk(): void;
  succeed(outcome: Outcome): void;
  fail(error: unknown): void;
  /** The caller cancelled or stopped reading: the span ends without a verdict and no figure is recorded. */
  cancel(): void;
}

/** Where the resilience layer reports what it does. */
export interface Instruments {
  begin(model: GenAiModel, request: ChatRequest, streaming: boolean): Operation;
  retry(model: GenAiModel, error: unknown, attempt: number, waitMs: number): void;
  fallback(from: GenAiModel, to: GenAiModel, error: unknown): void;
  breaker(model: GenAiModel, state: BreakerState): void;
}

/** Options of {@link createInstruments}. */
export interface InstrumentsOptions {
  readonly tracer?: Tracer;
  readonly meter?: Meter;
  readonly logger?: Logger;
  /** Prompts and completions go on spans only when true (LLM_RECORD_CONTENT). */
  readonly recordContent?: boolean;
  /** Dollars per million tokens by model (LLM_PRICES). */
  readonly prices?: PriceTable;
}

function errorType(error: unknown): string {
  if (error instanceof Error) return String((error as { code?: unknown }).code ?? error.name);
  return typeof error;
}

/** Messages in the GenAI conventions' shape, for `gen_ai.input.messages` and `gen_ai.output.messages`. */
function contentMessages(messages: readonly ChatMessage[]): string {
  return JSON.stringify(
    messages.map((m) => {
      const parts: Array<Record<string, unknown>> = [];
      if (m.role === "tool") parts.push({ type: "tool_call_response", id: m.toolCallId, response: m.content });
      else if (m.content) parts.push({ type: "text", content: m.content });
      if (m.role === "assistant") {
        for (const call of m.toolCalls ?? []) {
          parts.push({ type: "tool_call", id: call.id, name: call.name, arguments: call.arguments });
        }
      }
      return { role: m.role, parts };
    }),
  );
}

/**
 * Builds the plugin's instruments over the kernel's Tracer and Meter contracts: a `chat {model}`
 * span per attempt (GenAI semantic conventions, through the kernel's `startChatSpan`), the GenAI
 * histograms, the dashboard's `llm_*` figures (`chatMetrics`), retry, fallback, breaker and cost
 * counters, and a warning line for each retry, fallback and opened breaker.
 *
 * @example
 * ```ts
 * const instruments = createInstruments({ tracer: find(Tracer), meter: find(Meter), logger, prices });
 * const model = resilientModel([openai], { instruments });
 * ```
 */
export function createInstruments(options: InstrumentsOptions = {}): Instruments {
  const tracer = options.tracer ?? noopTracer;
  const { meter, logger, prices = {}, recordContent = false } = options;
  const m = meter ? metersOf(meter) : undefined;

  return {
    begin(model, request, streaming) {
      const began = performance.now();
      const span = startChatSpan(tracer, model, request);
      if (recordContent && span.isRecording())
        span.setAttribute("gen_ai.input.messages", contentMessages(request.messages));
      const base = {
        gen_ai_operation_name: "chat",
        gen_ai_provider_name: model.provider,
        gen_ai_request_model: model.model,
      };
      let ended = false;
      return {
        firstChunk() {
          const seconds = (performance.now() - began) / 1000;
          if (streaming) m?.firstChunk.observe(base, seconds);
          span.setAttribute("gen_ai.response.time_to_first_chunk", seconds);
        },
        succeed(outcome) {
          if (ended) return;
          ended = true;
          const seconds = (performance.now() - began) / 1000;
          const cost = costOf(prices, outcome.model, model.model, outcome.usage);
          if (cost !== undefined) span.setAttribute("llm.cost_usd", cost);
          if (recordContent && span.isRecording()) {
            span.setAttribute(
              "gen_ai.output.messages",
              contentMessages([{ role: "assistant", content: outcome.content ?? "", toolCalls: outcome.toolCalls }]),
            );
          }
          endChatSpan(span, outcome);
          if (!m) return;
          const labels = { ...base, gen_ai_response_model: outcome.model };
          m.duration.observe({ ...labels, error_type: "" }, seconds);
          observeTokens(m.tokens, labels, outcome.usage);
          m.chat(model.model, outcome, seconds);
          if (cost !== undefined && cost > 0) m.cost.inc({ model: outcome.model }, cost);
        },
        fail(error) {
          if (ended) return;
          ended = true;
          const seconds = (performance.now() - began) / 1000;
          const status = statusOf(error);
          if (status !== undefined) span.setAttribute("http.response.status_code", status);
          endChatSpan(span, error);
          if (!m) return;
          m.duration.observe({ ...base, gen_ai_response_model: "", error_type: errorType(error) }, seconds);
          m.chat(model.model, error, seconds);
        },
        cancel() {
          if (ended) return;
          ended = true;
          span.setAttribute("llm.cancelled", true);
          span.end();
        },
      };
    },
    retry(model, error, attempt, waitMs) {
      const code = errorType(error);
      m?.retries.inc({ provider: model.provider, model: model.model, code });
      logger?.warn("llm call failed, retrying", {
        provider: model.provider,
        model: model.model,
        code,
        status: statusOf(error),
        attempt: attempt + 1,
        wait_ms: waitMs,
      });
    },
    fallback(from, to, error) {
      m?.fallbacks.inc({ from: from.model, to: to.model });
      logger?.warn("llm model failed, falling back", { from: from.model, to: to.model, code: errorType(error) });
    },
    breaker(model, state) {
      const labels = { provider: model.provider, model: model.model };
      m?.breakerTransitions.inc({ ...labels, state });
      m?.breakerState.set(labels, stateValue[state]);
      const line = { ...labels, state };
      if (state === "open") logger?.warn("llm circuit breaker opened", line);
      else logger?.info("llm circuit breaker changed", line);
    },
  };
}

function observeTokens(histogram: Histogram, labels: Record<string, string>, usage: ChatUsage): void {
  histogram.observe({ ...labels, gen_ai_token_type: "input" }, usage.inputTokens);
  histogram.observe({ ...labels, gen_ai_token_type: "output" }, usage.outputTokens);
}

function metersOf(meter: Meter) {
  const genAi = ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"];
  return {
    duration: meter.histogram({
      name: llmMetricNames.operationDuration,
      help: "GenAI operation duration (one model call), in seconds.",
      labelNames: [...genAi, "gen_ai_response_model", "error_type"],
      buckets: durationBuckets,
    }),
    tokens: meter.histogram({
      name: llmMetricNames.tokenUsage,
      help: "Input and output tokens per model call.",
      labelNames: [...genAi, "gen_ai_response_model", "gen_ai_token_type"],
      buckets: tokenBuckets,
    }),
    firstChunk: meter.histogram({
      name: llmMetricNames.timeToFirstChunk,
      help: "Time from a streamed model call to its first chunk, in seconds.",
      labelNames: genAi,
      buckets: firstChunkBuckets,
    }),
    retries: meter.counter({
      name: llmMetricNames.retries,
      help: "Model calls retried, by provider, model and the failure's code.",
      labelNames: ["provider", "model", "code"],
    }),
    fallbacks: meter.counter({
      name: llmMetricNames.fallbacks,
      help: "Calls passed from a failing model to the next of its fallback chain.",
      labelNames: ["from", "to"],
    }),
    breakerTransitions: meter.counter({
      name: llmMetricNames.breakerTransitions,
      help: "Circuit breaker state changes, by provider, model and the state entered.",
      labelNames: ["provider", "model", "state"],
    }),
    breakerState: meter.gauge({
      name: llmMetricNames.breakerState,
      help: "Circuit breaker state by provider and model: 0 closed, 1 half open, 2 open.",
      labelNames: ["provider", "model"],
    }),
    cost: meter.counter({
      name: llmMetricNames.cost,
      help: "Cost of model calls in US dollars, from the LLM_PRICES table, by model.",
      labelNames: ["model"],
    }),
    chat: chatMetrics(meter),
  };
}
