import { token } from "../token.ts";

/** A tool the model may call; `parameters` is a JSON Schema object. */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** A model's request to call a tool; `arguments` is the JSON text the model produced. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** One message of a conversation. */
export type ChatMessage =
  | { readonly role: "system" | "user"; readonly content: string }
  | { readonly role: "assistant"; readonly content: string; readonly toolCalls?: readonly ToolCall[] }
  | { readonly role: "tool"; readonly content: string; readonly toolCallId: string };

/** A completion request. */
export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly ToolDefinition[];
  readonly temperature?: number;
  readonly maxTokens?: number;
}

/** Token counts as the provider reported them. */
export interface ChatUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** Why the model stopped. */
export type FinishReason = "stop" | "tool_calls" | "length" | "content_filter";

/** A finished completion. */
export interface ChatResponse {
  readonly model: string;
  readonly content: string;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: ChatUsage;
}

/** A piece of a streamed completion. The last chunk is always `done`. */
export type ChatChunk =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "tool_call"; readonly call: ToolCall }
  | { readonly type: "done"; readonly finishReason: FinishReason; readonly usage: ChatUsage; readonly model: string };

/** Per-call options. */
export interface ChatCallOptions {
  /** Aborting it cancels the call; the promise rejects (or the stream ends) with the abort reason. */
  readonly signal?: AbortSignal;
  /**
   * Called whenever the provider sends something, including data that yields no chunk yet (a
   * role-only delta, tool-call arguments being written), so a stream watchdog can tell a slow
   * but live stream from a stalled one. Adapters that never call it are timed by their chunks.
   */
  readonly onActivity?: () => void;
}

/**
 * What a failed call rejects with, besides being an `Error`: whether the same request may succeed
 * if sent again, and the provider's HTTP status when there was one. Resilience layers (retries,
 * breakers, fallbacks) read these two fields and nothing else.
 */
export interface ChatModelFailure extends Error {
  readonly retryable: boolean;
  readonly status?: number;
}

/**
 * The ChatModel contract: a chat completion model with tool calls.
 *
 * Every adapter must guarantee:
 * - `stream` yields text whose concatenation equals `complete`'s content for the same request
 *   (for deterministic models), then exactly one `done` chunk carrying usage;
 * - tool calls come back with an id that a following `tool` message can answer;
 * - usage figures are present and non-negative;
 * - an aborted signal stops the call promptly and rejects with the signal's reason;
 * - every other failure is a {@link ChatModelFailure}: `retryable` true for a 429, a 5xx, a
 *   connection error or a timeout, false for a request that will not change (400, 401, 404).
 */
export interface ChatModel {
  /** GenAI semantic-convention provider name, e.g. `"openai"`. */
  readonly provider: string;
  readonly model: string;
  complete(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResponse>;
  stream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatChunk>;
}

/** The app's chat model, provided by the llm plugin. */
export const ChatModel = token<ChatModel>("twelvefold/ChatModel");
