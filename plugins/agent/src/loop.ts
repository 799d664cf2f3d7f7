/**
 * The seam to the agent loop. The loop itself is the llm plugin's (`runAgent`, bound to the app as
 * its `Agent` token); plugins never import each other, so this plugin names the few parts of it
 * that it drives, and the app hands it the llm plugin's token: `agent({ loop: Agent })`. The llm
 * plugin's `Agent` fits these types as it is.
 */
import type { ChatMessage, ChatModel, ChatUsage, FinishReason, ServiceReader, ToolCall } from "@twelvefold/kernel";

/** What the loop yields, as far as a durable run reads it (the llm plugin's `AgentEvent`). */
export type LoopEvent =
  | { readonly type: "text"; readonly step: number; readonly text: string }
  | { readonly type: "tool_call"; readonly step: number; readonly call: ToolCall }
  | {
      readonly type: "tool_result";
      readonly step: number;
      readonly callId: string;
      readonly name: string;
      readonly ok: boolean;
      readonly content: string;
    }
  | { readonly type: "usage"; readonly step: number; readonly model: string; readonly usage: ChatUsage }
  | { readonly type: "reset"; readonly step: number; readonly reason: string }
  | {
      readonly type: "step";
      readonly step: number;
      readonly finishReason: FinishReason;
      readonly added: readonly ChatMessage[];
    }
  | {
      readonly type: "done";
      readonly reason: "stop" | "length" | "content_filter" | "max_steps";
      readonly text: string;
      readonly steps: number;
      readonly usage: ChatUsage;
    };

/** What a tool's `run` gets from the loop, as far as this plugin reads it. */
export interface LoopToolContext {
  readonly signal: AbortSignal;
  /** Stable across retries and resumes of the same run. */
  readonly callId: string;
}

/** A tool as the loop takes it (the llm plugin's `defineTool` result); `run` may be wrapped. */
export interface LoopTool {
  readonly name: string;
  run(input: never, context: LoopToolContext): unknown;
}

/** The run a set of tools is made for: who asked, in which conversation. */
export interface RunInfo {
  readonly runId: string;
  readonly user: string;
  readonly conversation?: string;
}

/**
 * The tools of a run: one list for every run, or a function that makes them for each run, from
 * the run and the app's services, so a tool can act for the run's user (a per-user memory in the
 * app's database) without being told who that is by the model.
 */
export type RunTools = readonly LoopTool[] | ((run: RunInfo, services: ServiceReader) => readonly LoopTool[]);

/**
 * Options a durable run passes to the loop. Everything but `messages` is optional and `tools` is
 * opaque here, so that the llm plugin's own option type fits this one as it is.
 */
export interface LoopOptions {
  readonly messages: readonly ChatMessage[];
  /** The run's tools ({@link LoopTool}s, some wrapped), handed to the loop as they are. */
  readonly tools?: readonly unknown[];
  /** The run's id: the loop derives tool-call ids and idempotency keys from it. */
  readonly runId?: string;
  /** The step to start at: the one after the last finished step when resuming. */
  readonly firstStep?: number;
  readonly maxSteps?: number;
  readonly signal?: AbortSignal;
  /** The model for this attempt; a resumed run replays its finished turn through it. */
  readonly model?: ChatModel;
}

/** The agent loop: an async iterable of events for one run. */
export interface AgentLoop {
  run(options: LoopOptions): AsyncIterable<LoopEvent>;
}
