import {
  type ChatMessage,
  type ChatModel,
  type ChatUsage,
  type FinishReason,
  failSpan,
  type Logger,
  noopTracer,
  type Span,
  type ToolCall,
  type Tracer,
  toolSpanOptions,
} from "@twelvefold/kernel";
import { callError, LlmError, llmErrors } from "./errors.ts";
import { stableHash } from "./hash.ts";
import type { ToolResultStore } from "./store.ts";
import { type AnyTool, parseArguments } from "./tool.ts";

/** Why a run ended. `max_steps`: it used every step without a final answer. */
export type DoneReason = "stop" | "length" | "content_filter" | "max_steps";

/** What {@link runAgent} yields, in order within each step. */
export type AgentEvent =
  /** A piece of the model's text. */
  | { readonly type: "text"; readonly step: number; readonly text: string }
  /** The model asked for a tool; `call.id` is the loop's stable id. */
  | { readonly type: "tool_call"; readonly step: number; readonly call: ToolCall }
  /** A tool call finished (in completion order when several run at once); `content` went to the model. */
  | {
      readonly type: "tool_result";
      readonly step: number;
      readonly callId: string;
      readonly name: string;
      readonly ok: boolean;
      readonly content: string;
      /** True when a recorded result of an earlier attempt of this run was reused: the tool did not run. */
      readonly replayed: boolean;
    }
  /** Tokens of one model turn. */
  | { readonly type: "usage"; readonly step: number; readonly model: string; readonly usage: ChatUsage }
  /**
   * The step's model turn was cut after some output and runs again: forget what this step
   * yielded so far.
   */
  | { readonly type: "reset"; readonly step: number; readonly reason: string }
  /**
   * A step finished: everything a checkpoint needs to resume after it, with `messages`
   * (the whole history so far) and `step + 1` as `firstStep`.
   */
  | {
      readonly type: "step";
      readonly step: number;
      readonly model: string;
      readonly finishReason: FinishReason;
      readonly usage: ChatUsage;
      /** The messages this step added: the assistant turn, then its tool results in call order. */
      readonly added: readonly ChatMessage[];
      readonly messages: readonly ChatMessage[];
    }
  /** The run ended; the last event. */
  | {
      readonly type: "done";
      readonly reason: DoneReason;
      /** The final answer's text (empty when the run ended on tool calls at `max_steps`). */
      readonly text: string;
      readonly steps: number;
      readonly usage: ChatUsage;
      readonly messages: readonly ChatMessage[];
    };

/** Options of {@link runAgent}. */
export interface AgentOptions {
  readonly model: ChatModel;
  readonly tools?: readonly AnyTool[];
  /** The conversation so far (for a resumed run: the `messages` of its last `step` event). */
  readonly messages: readonly ChatMessage[];
  /** Steps (model turns) the run may take in all, counting resumed ones (default 10). */
  readonly maxSteps?: number;
  readonly signal?: AbortSignal;
  /** Identifies the run; pass the same id to retry or resume it, so tool-call ids and idempotency keys repeat (default: a new UUID). */
  readonly runId?: string;
  /** The first step's number: 0, or the step after the last finished one when resuming. */
  readonly firstStep?: number;
  /** Where completed side-effect calls are recorded and found again (default: none, so nothing is reused). */
  readonly store?: ToolResultStore;
  /** A tool's time budget unless it sets its own (default 30 000 ms). */
  readonly toolTimeoutMs?: number;
  /** Times a model turn cut mid-stream by a retryable failure is run again, after a `reset` event (default 1). */
  readonly turnRetries?: number;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly tracer?: Tracer;
  readonly logger?: Logger;
  /** Tool arguments and results go on `execute_tool` spans only when true (LLM_RECORD_CONTENT). */
  readonly recordContent?: boolean;
  /** `gen_ai.agent.name` on the run's span (default `"agent"`). */
  readonly name?: string;
}

type ToolResultEvent = Extract<AgentEvent, { type: "tool_result" }>;

/** What one model turn said. */
interface Turn {
  readonly text: string;
  readonly calls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: ChatUsage;
  readonly model: string;
}

function addUsage(a: ChatUsage, b: ChatUsage): ChatUsage {
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
}

function toolError(message: string): string {
  return JSON.stringify({ error: message });
}

function cutAndRetryable(error: unknown): boolean {
  return (
    error instanceof LlmError &&
    error.code === "TF_LLM_STREAM_INTERRUPTED" &&
    (error.cause as { retryable?: unknown } | undefined)?.retryable === true
  );
}

/**
 * Runs the agent loop: the model answers, and while it asks for tools, the loop runs them (all
 * of one turn at once), hands their results back and asks again, for at most `maxSteps` turns.
 * It is an async iterable of {@link AgentEvent}s, to stream to a browser as they come.
 *
 * Side effects happen once: every tool call gets a stable id from the run id, the step and its
 * position; a tool with `sideEffects` gets an idempotency key, and its completed result is
 * recorded in `store`, so a retried or resumed run with the same `runId` reuses the result
 * instead of running the tool again. Bad arguments, unknown tools, a tool that throws or runs
 * out of time become a tool error the model sees and can correct; cancelling `signal` stops
 * the model and the tools, and the iteration rejects with the signal's reason.
 *
 * @example
 * ```ts
 * for await (const event of runAgent({ model, tools: [calculator], messages: [{ role: "user", content: "6 * 7?" }] })) {
 *   if (event.type === "text") show(event.text);
 *   if (event.type === "done") finish(event.reason, event.text);
 * }
 * ```
 */
export async function* runAgent(options: AgentOptions): AsyncGenerator<AgentEvent> {
  const { model, signal, store, logger } = options;
  const tools = options.tools ?? [];
  const byName = new Map<string, AnyTool>();
  for (const tool of tools) {
    if (byName.has(tool.name))
      throw llmErrors.create("TF_LLM_TOOL", { problem: `two tools are named ${JSON.stringify(tool.name)}` });
    byName.set(tool.name, tool);
  }
  const definitions = tools.map((t) => t.definition);
  const maxSteps = options.maxSteps ?? 10;
  const runId = options.runId ?? crypto.randomUUID();
  const runHash = stableHash(runId);
  const tracer = options.tracer ?? noopTracer;
  const messages: ChatMessage[] = [...options.messages];
  let total: ChatUsage = { inputTokens: 0, outputTokens: 0 };
  const span = tracer.startSpan(`invoke_agent ${options.name ?? "agent"}`, {
    kind: "internal",
    attributes: {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.agent.name": options.name ?? "agent",
      "gen_ai.provider.name": model.provider,
      "gen_ai.request.model": model.model,
      "gen_ai.conversation.id": runId,
    },
  });
  const within = <T>(fn: () => T): T => tracer.withSpan(span, fn);

  async function execute(call: ToolCall, step: number, index: number): Promise<ToolResultEvent> {
    const result = (ok: boolean, content: string, replayed = false): ToolResultEvent => ({
      type: "tool_result",
      step,
      callId: call.id,
      name: call.name,
      ok,
      content,
      replayed,
    });
    const tool = byName.get(call.name);
    if (!tool)
      return result(
        false,
        toolError(`unknown tool "${call.name}": use one of ${[...byName.keys()].join(", ") || "none"}`),
      );
    const parsed = parseArguments(tool, call.arguments);
    if (!parsed.ok) return result(false, toolError(parsed.error));
    const key = tool.sideEffects ? `${runId}:${step}:${index}:${tool.name}` : undefined;
    if (key && store) {
      const recorded = await store.get(key);
      if (recorded) return result(true, recorded.content, true);
    }
    const timeoutMs = tool.timeoutMs ?? options.toolTimeoutMs ?? 30_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const toolSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const toolSpan: Span = within(() => tracer.startSpan(`execute_tool ${call.name}`, toolSpanOptions(call)));
    if (options.recordContent) toolSpan.setAttribute("gen_ai.tool.call.arguments", call.arguments);
    try {
      const stopped = new Promise<never>((_, reject) => {
        toolSignal.addEventListener("abort", () => reject(toolSignal.reason), { once: true });
      });
      stopped.catch(() => {});
      const context = { signal: toolSignal, callId: call.id, idempotencyKey: key, runId, logger };
      const value = await tracer.withSpan(toolSpan, () =>
        Promise.race([Promise.resolve().then(() => tool.run(parsed.value, context)), stopped]),
      );
      const content = typeof value === "string" ? value : JSON.stringify(value ?? null);
      if (options.recordContent) toolSpan.setAttribute("gen_ai.tool.call.result", content);
      if (key && store) await store.set(key, { name: tool.name, arguments: call.arguments, content, at: Date.now() });
      return result(true, content);
    } catch (error) {
      failSpan(toolSpan, error);
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) return result(false, toolError(`"${call.name}" did not finish within ${timeoutMs} ms`));
      logger?.warn("tool failed", { tool: call.name, call_id: call.id, error });
      return result(false, toolError(error instanceof Error ? error.message : String(error)));
    } finally {
      toolSpan.end();
    }
  }

  /** One model turn, streamed: yields its events and returns what it said. */
  async function* turn(step: number): AsyncGenerator<AgentEvent, Turn> {
    const request = {
      messages,
      tools: definitions.length > 0 ? definitions : undefined,
      temperature: options.temperature,
      maxTokens: options.maxTokens,
    };
    const iterator = within(() => model.stream(request, { signal })[Symbol.asyncIterator]());
    let text = "";
    const calls: ToolCall[] = [];
    try {
      for (;;) {
        const next = await within(() => iterator.next());
        if (next.done) break;
        const chunk = next.value;
        if (chunk.type === "text") {
          text += chunk.text;
          yield { type: "text", step, text: chunk.text };
        } else if (chunk.type === "tool_call") {
          // The loop's own id: the same for the same run, step and position, whatever the provider made up.
          const call = { ...chunk.call, id: `call_${runHash}_${step}_${calls.length}` };
          calls.push(call);
          yield { type: "tool_call", step, call };
        } else {
          return { text, calls, finishReason: chunk.finishReason, usage: chunk.usage, model: chunk.model };
        }
      }
    } finally {
      await iterator.return?.();
    }
    throw callError("TF_LLM_MALFORMED", model, "stream ended without a done chunk");
  }

  try {
    let step = options.firstStep ?? 0;
    for (; step < maxSteps; step++) {
      let said: Turn | undefined;
      for (let retries = 0; !said; retries++) {
        try {
          said = yield* turn(step);
        } catch (error) {
          if (signal?.aborted || retries >= (options.turnRetries ?? 1) || !cutAndRetryable(error)) throw error;
          yield { type: "reset", step, reason: error instanceof Error ? error.message : String(error) };
        }
      }
      total = addUsage(total, said.usage);
      yield { type: "usage", step, model: said.model, usage: said.usage };
      const assistant: ChatMessage =
        said.calls.length > 0
          ? { role: "assistant", content: said.text, toolCalls: said.calls }
          : { role: "assistant", content: said.text };
      const added: ChatMessage[] = [assistant];
      messages.push(assistant);
      const { model: answered, finishReason, usage } = said;
      const finished = (): AgentEvent => ({
        type: "step",
        step,
        model: answered,
        finishReason,
        usage,
        added,
        messages: [...messages],
      });
      if (said.calls.length === 0) {
        yield finished();
        span.setAttributes({
          "gen_ai.usage.input_tokens": total.inputTokens,
          "gen_ai.usage.output_tokens": total.outputTokens,
        });
        const reason: DoneReason = said.finishReason === "tool_calls" ? "stop" : said.finishReason;
        yield { type: "done", reason, text: said.text, steps: step + 1, usage: total, messages: [...messages] };
        return;
      }
      const pending = new Map(said.calls.map((call, i) => [i, execute(call, step, i).then((event) => ({ i, event }))]));
      const results: ToolResultEvent[] = [];
      while (pending.size > 0) {
        const { i, event } = await Promise.race(pending.values());
        pending.delete(i);
        results[i] = event;
        yield event;
      }
      for (const event of results) {
        const message: ChatMessage = { role: "tool", toolCallId: event.callId, content: event.content };
        added.push(message);
        messages.push(message);
      }
      yield finished();
    }
    span.setAttributes({
      "gen_ai.usage.input_tokens": total.inputTokens,
      "gen_ai.usage.output_tokens": total.outputTokens,
    });
    yield { type: "done", reason: "max_steps", text: "", steps: step, usage: total, messages: [...messages] };
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}
