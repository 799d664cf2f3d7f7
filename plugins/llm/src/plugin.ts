import {
  Cache,
  ChatModel,
  type ChatUsage,
  type ConfigOptions,
  definePlugin,
  Meter,
  type Plugin,
  Tracer,
  token,
} from "@twelvefold/kernel";
import { type AgentEvent, type AgentOptions, runAgent } from "./agent.ts";
import { ConcurrencyLimit } from "./concurrency.ts";
import { checkLlmConfig, chooseProvider, type LlmConfig, llmConfig, type Provider } from "./config.ts";
import { costOf } from "./cost.ts";
import { localModel } from "./local.ts";
import { openaiModel } from "./openai.ts";
import { type ResilientModel, resilientModel } from "./resilient.ts";
import { cacheToolResults, type ToolResultStore } from "./store.ts";
import { createInstruments } from "./telemetry.ts";

/** Options of {@link Agent.run}: {@link runAgent}'s, with the app's model and store as defaults. */
export type AgentRunOptions = Omit<AgentOptions, "model"> & { readonly model?: ChatModel };

/** The agent loop bound to the app: its model, tool-result store, tracer, logger and settings. */
export interface Agent {
  /** Runs {@link runAgent} with the app's defaults filled in. */
  run(options: AgentRunOptions): AsyncGenerator<AgentEvent>;
  /** The app's model (the same value as the ChatModel token), with its fallback chain. */
  readonly model: ResilientModel;
  /** Where completed side-effect tool calls are recorded (the Cache contract). */
  readonly store: ToolResultStore;
  /**
   * What `usage` of `model` cost in US dollars by LLM_PRICES (a key prices its dated versions),
   * `undefined` when the table does not price it: for an app that keeps the cost of each run.
   */
  cost(model: string, usage: ChatUsage): number | undefined;
}

/** The llm plugin's agent loop, for apps. */
export const Agent = token<Agent>("twelvefold/llm/Agent");

/** Options of {@link llm}: config values that win over the environment, and models of your own. */
export type LlmOptions = ConfigOptions<typeof llmConfig> & {
  /**
   * The fallback chain to use instead of the one built from config (any ChatModel adapters,
   * first tried first); the plugin wraps it in its resilience policy.
   */
  readonly models?: readonly ChatModel[];
};

function buildChain(config: LlmConfig, provider: Provider): ChatModel[] {
  const local = () => localModel({ tokenDelayMs: config.LLM_LOCAL_TOKEN_DELAY_MS });
  const remote = (model: string) =>
    openaiModel({
      model,
      apiKey: config.OPENAI_API_KEY,
      baseURL: config.OPENAI_BASE_URL,
      temperature: config.TEMPERATURE,
      timeoutMs: config.LLM_TIMEOUT_MS,
    });
  const names = config.LLM_FALLBACK_MODELS;
  const chain = [provider === "local" ? local() : remote(config.OPENAI_MODEL)];
  for (const name of names) chain.push(name.startsWith("local") ? local() : remote(name));
  return chain;
}

/**
 * The llm plugin: provides the kernel's ChatModel, the OpenAI-compatible provider when
 * OPENAI_API_KEY or OPENAI_BASE_URL is set and the local deterministic model otherwise, wrapped
 * in retries, a stream watchdog, a circuit breaker per model, LLM_FALLBACK_MODELS and the
 * process's concurrency cap; and {@link Agent}, the agent loop bound to it, recording
 * side-effect tool results in the app's Cache. With the otel and metrics plugins in the app,
 * every call is a GenAI span and the GenAI histograms appear in `/metrics`.
 *
 * @example
 * ```ts
 * const chat = definePlugin({
 *   name: "chat",
 *   requires: [Agent],
 *   start({ get }) {
 *     const agent = get(Agent);
 *     // for await (const event of agent.run({ tools: [calculator], messages })) send(event);
 *   },
 * });
 * await createApp({ name: "agent", plugins: [llm(), chat] }).run();
 * ```
 */
export function llm(options: LlmOptions = {}): Plugin {
  const { models, ...settings } = options;
  return definePlugin({
    name: "llm",
    config: llmConfig,
    options: settings,
    check: checkLlmConfig,
    requires: [Cache],
    optional: [Tracer, Meter],
    provides: [ChatModel, Agent],
    async start({ config, logger, get, find, provide }) {
      const chain = models ? [...models] : buildChain(config, chooseProvider(config));
      // The openai package loads now, at start, and only when a configured model needs it.
      await Promise.all(chain.map((m) => (m as { warm?: () => Promise<void> }).warm?.()));
      const tracer = find(Tracer);
      const instruments = createInstruments({
        tracer,
        meter: find(Meter),
        logger,
        recordContent: config.LLM_RECORD_CONTENT,
        prices: config.LLM_PRICES,
      });
      const model = resilientModel(chain, {
        retry: {
          maxRetries: config.LLM_MAX_RETRIES,
          baseMs: config.LLM_RETRY_BASE_MS,
          capMs: Math.max(config.LLM_RETRY_BASE_MS, 8_000),
          maxWaitMs: config.LLM_RETRY_MAX_WAIT_MS,
        },
        watchdog: {
          firstChunkMs: config.LLM_FIRST_CHUNK_TIMEOUT_MS,
          idleMs: config.LLM_IDLE_TIMEOUT_MS,
          totalMs: config.LLM_TIMEOUT_MS,
        },
        breaker: {
          failures: config.LLM_BREAKER_FAILURES,
          windowMs: config.LLM_BREAKER_WINDOW_MS,
          cooldownMs: config.LLM_BREAKER_COOLDOWN_MS,
        },
        limit: new ConcurrencyLimit(config.LLM_MAX_CONCURRENCY, config.LLM_MAX_QUEUE_WAIT_MS),
        instruments,
      });
      const store = cacheToolResults(get(Cache), { ttlMs: config.LLM_TOOL_RESULT_TTL_MS });
      provide(ChatModel, model);
      provide(Agent, {
        model,
        store,
        cost: (name, usage) => costOf(config.LLM_PRICES, name, name, usage),
        run: (run) =>
          runAgent({
            maxSteps: config.LLM_MAX_STEPS,
            toolTimeoutMs: config.LLM_TOOL_TIMEOUT_MS,
            recordContent: config.LLM_RECORD_CONTENT,
            tracer,
            logger,
            store,
            ...run,
            model: run.model ?? model,
          }),
      });
      logger.info("llm ready", { models: model.chain.map((m) => `${m.provider}/${m.model}`) });
    },
    health({ get }) {
      const chain = (get(ChatModel) as ResilientModel).chain ?? [];
      const open = chain.filter((m) => m.state === "open");
      if (open.length === 0) return { status: "up" };
      const detail = chain.map((m) => `"${m.model}": ${m.state.replace("_", " ")}`).join(", ");
      return { status: open.length === chain.length ? "down" : "degraded", detail };
    },
  });
}
