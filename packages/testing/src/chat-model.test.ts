import { describe, expect, test } from "bun:test";
import type { ChatChunk, ChatModel, ChatRequest, ChatResponse, ToolDefinition } from "@twelvefold/kernel";
import { applicableCases, chatModelCases, chatModelContract, runCase } from "../mod.ts";

const lookup: ToolDefinition = {
  name: "lookup",
  description: "Looks a word up",
  parameters: { type: "object", properties: { word: { type: "string" } }, required: ["word"] },
};

/** A deterministic model for the kit's own tests: echoes, calls the first tool when it has one. */
function echoModel(): ChatModel {
  const answer = (request: ChatRequest): ChatResponse => {
    const last = request.messages.at(-1);
    const words = request.messages.reduce((n, m) => n + m.content.split(/\s+/).length, 0);
    const tool = request.tools?.[0];
    if (tool && last?.role === "user") {
      const call = { id: "call_1", name: tool.name, arguments: JSON.stringify({ word: last.content }) };
      return {
        model: "echo-1",
        content: "",
        toolCalls: [call],
        finishReason: "tool_calls",
        usage: { inputTokens: words, outputTokens: 1 },
      };
    }
    const content = `echo: ${last?.content ?? ""}`;
    return {
      model: "echo-1",
      content,
      toolCalls: [],
      finishReason: "stop",
      usage: { inputTokens: words, outputTokens: content.split(" ").length },
    };
  };
  return {
    provider: "echo",
    model: "echo-1",
    async complete(request, options) {
      options?.signal?.throwIfAborted();
      await null;
      options?.signal?.throwIfAborted();
      return answer(request);
    },
    async *stream(request, options): AsyncGenerator<ChatChunk> {
      const response = answer(request);
      for (const word of response.content.split(/(?<= )/)) {
        options?.signal?.throwIfAborted();
        await null;
        if (word) yield { type: "text", text: word };
      }
      for (const call of response.toolCalls) yield { type: "tool_call", call };
      options?.signal?.throwIfAborted();
      yield { type: "done", finishReason: response.finishReason, usage: response.usage, model: response.model };
    },
  };
}

chatModelContract("echo (the kit's reference model)", echoModel, {
  deterministic: true,
  toolCall: { prompt: "lexicon", tool: lookup },
});

describe("the ChatModel suite catches a broken model", () => {
  test("one whose stream disagrees with complete and ignores abort fails exactly those cases", async () => {
    const broken = (): ChatModel => {
      const real = echoModel();
      return {
        provider: real.provider,
        model: real.model,
        complete: (request) => real.complete(request),
        async *stream(request) {
          for await (const chunk of real.stream(request)) {
            yield chunk.type === "text" ? { type: "text", text: chunk.text.toUpperCase() } : chunk;
          }
        },
      };
    };
    const options = { deterministic: true, toolCall: { prompt: "lexicon", tool: lookup }, patienceMs: 200 };
    const failed: string[] = [];
    const cases = applicableCases(chatModelCases, new Set(["deterministic", "toolCall"]));
    for (const c of cases) await runCase(c, broken, options).catch(() => failed.push(c.name));
    expect(failed).toEqual([
      "stream yields the same text and finish reason as complete",
      "an aborted signal rejects complete with the signal's reason",
      "aborting mid-stream ends the stream with the signal's reason and no done chunk",
    ]);
  });
});
