import { type ConfigProblem, defineConfig, env, type InferConfig, type Profile, secret } from "@twelvefold/kernel";
import * as v from "valibot";
import type { PriceTable } from "./cost.ts";

const pricesExpected = 'a JSON object of model to { "input": dollars, "output": dollars } per million tokens';
const dollars = v.pipe(v.number(pricesExpected), v.minValue(0, pricesExpected));
const priceTable: v.GenericSchema<string, PriceTable> = v.pipe(
  v.string(pricesExpected),
  v.parseJson(undefined, pricesExpected),
  v.record(v.string(), v.object({ input: dollars, output: dollars }, pricesExpected), pricesExpected),
);

/** The llm plugin's settings, keyed by env var name. */
export const llmConfig = defineConfig({
  /**
   * `openai` (any Chat Completions server), `local` (the deterministic model), or `auto`: openai
   * when OPENAI_API_KEY or OPENAI_BASE_URL is set, else local.
   */
  LLM_PROVIDER: v.optional(env.picklist(["auto", "openai", "local"]), "auto"),
  OPENAI_API_KEY: secret(v.optional(env.string({ minLength: 1 }))),
  /** Any server speaking Chat Completions: OpenAI, vLLM, llama.cpp's server, Ollama, LiteLLM. */
  OPENAI_BASE_URL: v.optional(env.url({ protocols: ["https:", "http:"] })),
  OPENAI_MODEL: v.optional(env.string({ minLength: 1 }), "gpt-4o-mini"),
  /** Models tried in order when OPENAI_MODEL fails retryably or its breaker is open; `local` is the local model. */
  LLM_FALLBACK_MODELS: v.optional(env.list(), ""),
  /** Sampling temperature for requests that set none; unset leaves the provider's default. */
  TEMPERATURE: v.optional(env.number({ min: 0, max: 2 })),
  /** Total deadline of one attempt, first byte to last. */
  LLM_TIMEOUT_MS: v.optional(env.integer({ min: 1 }), "300000"),
  /** From the request to the first chunk of a stream. */
  LLM_FIRST_CHUNK_TIMEOUT_MS: v.optional(env.integer({ min: 0 }), "60000"),
  /** Longest wait for the next chunk once a stream has begun. */
  LLM_IDLE_TIMEOUT_MS: v.optional(env.integer({ min: 0 }), "30000"),
  /** Retries after the first attempt, per model. */
  LLM_MAX_RETRIES: v.optional(env.integer({ min: 0, max: 10 }), "2"),
  /** First backoff ceiling; it doubles per retry, up to 8 s, with full jitter. */
  LLM_RETRY_BASE_MS: v.optional(env.integer({ min: 1 }), "500"),
  /** Longest wait before a retry; a longer Retry-After fails (or falls back) at once instead. */
  LLM_RETRY_MAX_WAIT_MS: v.optional(env.integer({ min: 0 }), "60000"),
  /** Failures within LLM_BREAKER_WINDOW_MS that open a model's breaker; 0 turns breakers off. */
  LLM_BREAKER_FAILURES: v.optional(env.integer({ min: 0 }), "5"),
  LLM_BREAKER_WINDOW_MS: v.optional(env.integer({ min: 1 }), "30000"),
  /** How long an open breaker fails fast before it lets one probe through. */
  LLM_BREAKER_COOLDOWN_MS: v.optional(env.integer({ min: 1 }), "30000"),
  /** Model calls in flight in this process. */
  LLM_MAX_CONCURRENCY: v.optional(env.integer({ min: 1 }), "16"),
  /** Longest wait for a free slot before TF_LLM_OVERLOADED. */
  LLM_MAX_QUEUE_WAIT_MS: v.optional(env.integer({ min: 0 }), "10000"),
  /** A tool's time budget unless it sets its own. */
  LLM_TOOL_TIMEOUT_MS: v.optional(env.integer({ min: 1 }), "30000"),
  /** Model turns an agent run may take. */
  LLM_MAX_STEPS: v.optional(env.integer({ min: 1, max: 1000 }), "10"),
  /** How long completed side-effect tool results are kept for retried and resumed runs. */
  LLM_TOOL_RESULT_TTL_MS: v.optional(env.integer({ min: 1 }), "86400000"),
  /** Put prompts, completions and tool arguments and results on spans. */
  LLM_RECORD_CONTENT: v.optional(env.boolean(), "false"),
  /** Dollars per million tokens, by model: `{"gpt-4o-mini":{"input":0.15,"output":0.6}}`. */
  LLM_PRICES: v.optional(priceTable, "{}"),
  /** Pause between the local model's streamed tokens. */
  LLM_LOCAL_TOKEN_DELAY_MS: v.optional(env.integer({ min: 0, max: 10000 }), "0"),
});

/** The parsed settings. */
export type LlmConfig = InferConfig<typeof llmConfig>;

/** The model provider the settings choose. */
export type Provider = "openai" | "local";

/** Which provider the settings choose: LLM_PROVIDER, or under `auto` openai when a key or base URL is set. */
export function chooseProvider(config: LlmConfig): Provider {
  if (config.LLM_PROVIDER !== "auto") return config.LLM_PROVIDER;
  return config.OPENAI_API_KEY || config.OPENAI_BASE_URL ? "openai" : "local";
}

/**
 * Rules across settings, reported with every other config problem before anything starts:
 * openai needs a key or a base URL, and production never serves the local model by default.
 */
export function checkLlmConfig(config: LlmConfig, profile: Profile): ConfigProblem[] {
  const configured = Boolean(config.OPENAI_API_KEY || config.OPENAI_BASE_URL);
  if (config.LLM_PROVIDER === "openai" && !configured) {
    return [
      {
        name: "OPENAI_BASE_URL",
        expected: "a Chat Completions server, or OPENAI_API_KEY for OpenAI, when LLM_PROVIDER is openai",
      },
    ];
  }
  if (profile === "production" && config.LLM_PROVIDER === "auto" && !configured) {
    return [
      {
        name: "LLM_PROVIDER",
        expected:
          "OPENAI_API_KEY or OPENAI_BASE_URL set in production, or LLM_PROVIDER=local to serve the local model on purpose",
      },
    ];
  }
  return [];
}
