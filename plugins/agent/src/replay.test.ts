import { expect, test } from "bun:test";
import type { ChatChunk } from "@twelvefold/kernel";
import { localModel } from "@twelvefold/llm";
import { replayModel } from "./replay.ts";

const collect = async (chunks: AsyncIterable<ChatChunk>) => {
  const out: ChatChunk[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
};

test("replays the logged turn on the first streamed call, then passes every call to the model", async () => {
  const model = localModel();
  const call = { id: "call_1", name: "calculator", arguments: '{"expression":"6*7"}' };
  const replay = replayModel(model, {
    step: 0,
    text: "Let me see.",
    calls: [call],
    finished: { model: "local-1", usage: { input_tokens: 3, output_tokens: 4 } },
    results: new Set(),
    requested: new Set(),
  });
  expect([replay.provider, replay.model]).toEqual([model.provider, model.model]);
  const request = { messages: [{ role: "user" as const, content: "hello" }] };
  expect(await collect(replay.stream(request))).toEqual([
    { type: "text", text: "Let me see." },
    { type: "tool_call", call },
    { type: "done", finishReason: "tool_calls", model: "local-1", usage: { inputTokens: 3, outputTokens: 4 } },
  ]);
  const live = await collect(replay.stream(request));
  expect(live.at(-1)?.type).toBe("done");
  expect((await replay.complete(request)).content).toBe("Hello from the local model!");
});
