import type { ChatCallOptions, ChatChunk, ChatModel, ChatRequest, ChatResponse } from "@twelvefold/kernel";
import type { Turn } from "./state.ts";

/**
 * A model that answers its first streamed call with a turn the log already holds, and passes
 * every later call to `model`. A worker resuming a run whose last turn finished (but whose tools
 * did not all) replays that turn instead of asking the model again: the same text, the same tool
 * calls in the same order, so the loop gives them the same ids and idempotency keys, and an
 * approval given for a call still matches it.
 */
export function replayModel(model: ChatModel, turn: Turn & { finished: NonNullable<Turn["finished"]> }): ChatModel {
  let replayed = false;
  const { finished } = turn;
  return {
    provider: model.provider,
    model: model.model,
    complete: (request: ChatRequest, options?: ChatCallOptions): Promise<ChatResponse> =>
      model.complete(request, options),
    stream(request: ChatRequest, options?: ChatCallOptions): AsyncIterable<ChatChunk> {
      if (replayed) return model.stream(request, options);
      replayed = true;
      return (async function* replay(): AsyncGenerator<ChatChunk> {
        if (turn.text !== "") yield { type: "text", text: turn.text };
        for (const call of turn.calls) yield { type: "tool_call", call };
        yield {
          type: "done",
          finishReason: turn.calls.length > 0 ? "tool_calls" : "stop",
          model: finished.model,
          usage: { inputTokens: finished.usage.input_tokens, outputTokens: finished.usage.output_tokens },
        };
      })();
    },
  };
}
