import type { Cache } from "@twelvefold/kernel";

/** A side-effect tool call that completed, as the agent loop records it. */
export interface ToolRecord {
  readonly name: string;
  /** The arguments it ran with, as the model wrote them. */
  readonly arguments: string;
  /** What went back to the model. */
  readonly content: string;
  /** Epoch ms when it completed. */
  readonly at: number;
}

/**
 * Where the agent loop records completed side-effect tool calls, by idempotency key, so a
 * retried or resumed run reuses the result instead of running the effect again. The default
 * keeps them in the app's Cache; a durable run store can implement the same two methods.
 */
export interface ToolResultStore {
  get(key: string): Promise<ToolRecord | undefined>;
  set(key: string, record: ToolRecord): Promise<void>;
}

/**
 * A ToolResultStore over the Cache contract, in its own namespace, each record kept `ttlMs`
 * (LLM_TOOL_RESULT_TTL_MS). With the memory cache the records last as long as the process; with
 * Redis they outlive it and are shared by every replica.
 *
 * @example
 * ```ts
 * const store = cacheToolResults(get(Cache), { ttlMs: 86_400_000 });
 * for await (const event of runAgent({ model, tools, messages, runId, store })) send(event);
 * ```
 */
export function cacheToolResults(cache: Cache, options: { readonly ttlMs?: number } = {}): ToolResultStore {
  const records = cache.namespace("llm:tool-results:");
  return {
    async get(key) {
      const text = await records.get(key);
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as ToolRecord;
      } catch {
        // A record that does not parse is as good as none: the call runs again, under the same key.
        return undefined;
      }
    },
    async set(key, record) {
      await records.set(
        key,
        JSON.stringify(record),
        options.ttlMs === undefined ? undefined : { ttlMs: options.ttlMs },
      );
    },
  };
}
