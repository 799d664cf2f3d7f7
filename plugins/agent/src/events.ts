/**
 * The run's events: what a worker appends to the run's EventLog, and (all but the internal ones)
 * what a client receives as SSE. The log is the run's only state: a worker that picks a run up
 * again rebuilds where it was from these events (see `state.ts`).
 */
import type { ChatMessage, ToolCall } from "@twelvefold/kernel";

/** Token counts, as the client sees them. */
export interface RunUsage {
  readonly input_tokens: number;
  readonly output_tokens: number;
}

/** Why a run ended with `done`. */
export type DoneReason = "stop" | "length" | "content_filter" | "max_steps" | "max_tokens";

/** Every event of a run, by `type`. Field names are snake_case: they go to browsers as they are. */
export type RunEvent =
  /** A piece of the model's text in step `step`. */
  | { readonly type: "text"; readonly step: number; readonly text: string }
  /** The model asked for a tool. */
  | { readonly type: "tool_call"; readonly step: number; readonly call: ToolCall }
  /** A tool call finished; `content` went back to the model. */
  | {
      readonly type: "tool_result";
      readonly step: number;
      readonly call_id: string;
      readonly name: string;
      readonly ok: boolean;
      readonly content: string;
    }
  /** Tokens of one finished model turn. */
  | { readonly type: "usage"; readonly step: number; readonly model: string; readonly usage: RunUsage }
  /** Forget the text and tool calls of step `step` seen so far: the turn runs again. */
  | { readonly type: "reset"; readonly step: number; readonly reason: string }
  /**
   * The run pauses until someone decides on this call: POST `request` back with `approved`
   * to the run's approvals route. `request` is signed; a changed one is refused.
   */
  | {
      readonly type: "approval_required";
      readonly step: number;
      readonly call: ToolCall;
      readonly request: string;
      readonly expires_at: number;
    }
  /** A decision on a call that needed approval. */
  | { readonly type: "approval"; readonly call_id: string; readonly approved: boolean }
  /** A limit stopped the run (the `done` that follows says how it ended). */
  | { readonly type: "limit"; readonly limit: "steps" | "tokens"; readonly max: number; readonly used: number }
  /** The run finished. */
  | {
      readonly type: "done";
      readonly reason: DoneReason;
      readonly text: string;
      readonly steps: number;
      readonly usage: RunUsage;
      /** The id the conversation store gave the reply, when there is one. */
      readonly message_id?: string;
    }
  /** The run was cancelled. */
  | { readonly type: "cancelled"; readonly reason: string }
  /** The run failed for good; `message` is safe to show. */
  | { readonly type: "failed"; readonly code: string; readonly message: string }
  // Internal: kept in the log for the workers, never streamed.
  /** The messages the run starts from (internal). */
  | { readonly type: "context"; readonly messages: readonly ChatMessage[] }
  /** A finished step and the messages it added: the checkpoint a resumed run starts after (internal). */
  | { readonly type: "step"; readonly step: number; readonly added: readonly ChatMessage[] }
  /** Someone asked to cancel (internal, in the control log; the worker answers with `cancelled`). */
  | { readonly type: "cancel_requested"; readonly reason: string }
  /** The run's terminal event is in its log (internal, in the control log), so a reconnect after it ends at once. */
  | { readonly type: "ended" }
  /** The run's input (internal): who asked, in which conversation, what. */
  | {
      readonly type: "input";
      readonly user: string;
      readonly conversation?: string;
      readonly messages: readonly ChatMessage[];
      /** The per-user slot the run holds, released when it ends. */
      readonly slot?: { readonly key: string; readonly owner: string };
    };

/** A run event with the id the log gave it. */
export type LoggedEvent = RunEvent & { readonly id: string };

/** The event types a client never sees. */
const INTERNAL: ReadonlySet<RunEvent["type"]> = new Set(["context", "step", "cancel_requested", "ended", "input"]);

/** The event types after which nothing more is appended. */
const TERMINAL: ReadonlySet<RunEvent["type"]> = new Set(["done", "cancelled", "failed"]);

/** True for events the workers keep for themselves. */
export function isInternal(event: RunEvent): boolean {
  return INTERNAL.has(event.type);
}

/** True for the last event of a run. */
export function isTerminal(event: RunEvent): boolean {
  return TERMINAL.has(event.type);
}

/** Reads one logged event; an event that is not ours (not an object with a `type`) is skipped. */
export function parseEvent(id: string, data: string): LoggedEvent | undefined {
  try {
    const event = JSON.parse(data) as unknown;
    if (typeof event !== "object" || event === null || typeof (event as { type?: unknown }).type !== "string") {
      return undefined;
    }
    return { ...(event as RunEvent), id };
  } catch {
    return undefined;
  }
}

/** The EventLog key of a run's events. */
export function runLog(runId: string): string {
  return `agent:run:${runId}`;
}

/**
 * The EventLog key of a run's control log: cancellation requests, which the worker running the
 * run follows. Kept apart so that the worker is not woken by every token it appends itself.
 */
export function controlLog(runId: string): string {
  return `agent:run:${runId}:control`;
}
