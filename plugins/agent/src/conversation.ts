import type { ChatMessage } from "@twelvefold/kernel";
import type { RunUsage } from "./events.ts";

/** One finished run, as the conversation keeps it. */
export interface Exchange {
  /** The run's id: the same on every save of this run. */
  readonly runId: string;
  readonly user: string;
  /** What the user said (the run's input messages). */
  readonly input: readonly ChatMessage[];
  /**
   * What the run added after its input, in order: each assistant turn with its tool calls, each
   * tool result, and the final answer (the last message). Keep these to show a history with its
   * tool calls, or to feed the whole exchange back to the model.
   */
  readonly messages: readonly ChatMessage[];
  /** The final answer. */
  readonly reply: string;
  /** Tokens of the whole run. */
  readonly usage: RunUsage;
  /** Each model turn's model and tokens, in step order: what to price the run by (a fallback may have answered a turn). */
  readonly turns: ReadonlyArray<{ readonly step: number; readonly model: string; readonly usage: RunUsage }>;
}

/**
 * Where the app keeps its conversations (PostgreSQL, say): the plugin owns no tables. A worker
 * loads the conversation when it starts a run, and saves the exchange when the run is done.
 *
 * `save` is called at least once per finished run, and again if a worker dies between saving and
 * recording that the run is done: make it an upsert on `runId`, so a run is saved once.
 *
 * @example
 * ```ts
 * const conversations: ConversationStore = {
 *   load: (id) => db.messages.forSession(id),
 *   async save(id, exchange) {
 *     const reply = await db.messages.upsertExchange(id, exchange); // ON CONFLICT (run_id) DO NOTHING
 *     return { messageId: reply.id };
 *   },
 * };
 * ```
 */
export interface ConversationStore {
  /** The conversation so far, oldest first, as the model should see it. */
  load(conversation: string, options: { readonly signal: AbortSignal }): Promise<readonly ChatMessage[]>;
  /** Keeps a finished run's exchange; resolves with the id the reply got, if any. */
  save(conversation: string, exchange: Exchange): Promise<{ readonly messageId?: string }>;
}
