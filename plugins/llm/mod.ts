/**
 * @module
 * The llm plugin: the kernel's ChatModel over the OpenAI Chat Completions protocol (OpenAI,
 * vLLM, llama.cpp's server, Ollama, LiteLLM) or the local deterministic model, with retries,
 * a stream watchdog, circuit breakers, model fallback and a concurrency cap; tools with
 * valibot inputs; and the agent loop, whose side-effect tools run once across retries and
 * resumes. Calls are GenAI spans and histograms when the otel and metrics plugins are present.
 *
 * @example
 * ```ts
 * import { createApp, definePlugin } from "@twelvefold/kernel";
 * import { Agent, calculator, llm } from "@twelvefold/llm";
 *
 * const ask = definePlugin({
 *   name: "ask",
 *   requires: [Agent],
 *   async start({ get, logger }) {
 *     const messages = [{ role: "user" as const, content: "What is 6 * 7?" }];
 *     for await (const event of get(Agent).run({ tools: [calculator()], messages })) {
 *       if (event.type === "done") logger.info("answer", { text: event.text });
 *     }
 *   },
 * });
 * await createApp({ name: "ask", plugins: [llm(), ask] }).start();
 * ```
 */
export { type AgentEvent, type AgentOptions, type DoneReason, runAgent } from "./src/agent.ts";
export { type Admission, type BreakerOptions, type BreakerState, CircuitBreaker } from "./src/breaker.ts";
export { ConcurrencyLimit } from "./src/concurrency.ts";
export { checkLlmConfig, chooseProvider, type LlmConfig, llmConfig, type Provider } from "./src/config.ts";
export { costOf, type Price, type PriceTable, priceOf } from "./src/cost.ts";
export {
  type Delivered,
  isRetryable,
  LlmError,
  type LlmErrorCode,
  type LlmErrorOptions,
  retryAfterMs,
  type TimeoutPhase,
} from "./src/errors.ts";
export { type LocalModelOptions, localModel } from "./src/local.ts";
export { type OpenAiModelOptions, openaiModel } from "./src/openai.ts";
export { Agent, type AgentRunOptions, type LlmOptions, llm } from "./src/plugin.ts";
export { type ResilienceOptions, type ResilientModel, resilientModel } from "./src/resilient.ts";
export { defaultRetryPolicy, type RetryPolicy, retryDelay } from "./src/retry.ts";
export { cacheToolResults, type ToolRecord, type ToolResultStore } from "./src/store.ts";
export {
  createInstruments,
  type Instruments,
  type InstrumentsOptions,
  type Operation,
  type Outcome,
} from "./src/telemetry.ts";
export { type AnyTool, defineTool, type Tool, type ToolContext, type ToolSpec } from "./src/tool.ts";
export { calculator, clock, evaluate } from "./src/tools.ts";
export { defaultWatchdogLimits, type WatchdogLimits, watchCall, watchStream } from "./src/watchdog.ts";
