import { describe, expect, test } from "bun:test";
import type { ChatMessage, ChatRequest, ToolDefinition } from "@twelvefold/kernel";
import { chatModelContract } from "@twelvefold/testing";
import { localModel, tokens } from "./local.ts";
import { calculator, clock } from "./tools.ts";

const remember: ToolDefinition = {
  name: "remember",
  description: "Saves a fact about the user for later",
  parameters: { type: "object", properties: { fact: { type: "string" } }, required: ["fact"] },
};
const recall: ToolDefinition = {
  name: "recall",
  description: "Looks up facts saved earlier",
  parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
};
const tools = [calculator().definition, clock().definition, remember, recall];

chatModelContract("local", () => localModel(), {
  deterministic: true,
  toolCall: { prompt: "What is 6 * 7?", tool: calculator().definition },
});

function ask(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { messages: [{ role: "user", content }], tools, ...extra };
}

describe("local model", () => {
  test("is labelled local in its provider and model name, whatever name it is given", () => {
    expect(localModel()).toMatchObject({ provider: "local", model: "local-deterministic" });
    expect(localModel({ model: "tiny" }).model).toBe("local-tiny");
  });

  test("asks the calculator for arithmetic, with the expression as its argument", async () => {
    const reply = await localModel().complete(ask("Please work out 12 * (3 + 4) for me"));
    expect(reply.finishReason).toBe("tool_calls");
    expect(reply.toolCalls).toEqual([
      { id: expect.stringMatching(/^call_1_/), name: "calculator", arguments: '{"expression":"12 * (3 + 4)"}' },
    ]);
  });

  test("reads arithmetic written in words", async () => {
    const reply = await localModel().complete(ask("what is 7 times 6 plus 1?"));
    expect(JSON.parse(reply.toolCalls[0]?.arguments ?? "")).toEqual({ expression: "7 * 6 + 1" });
  });

  test("asks for the time in the zone a city or an IANA name gives", async () => {
    const tokyo = await localModel().complete(ask("What time is it in Tokyo?"));
    expect(tokyo.toolCalls[0]).toMatchObject({ name: "clock", arguments: '{"timeZone":"Asia/Tokyo"}' });
    const paris = await localModel().complete(ask("what's the time in Europe/Paris"));
    expect(paris.toolCalls[0]?.arguments).toBe('{"timeZone":"Europe/Paris"}');
    const anywhere = await localModel().complete(ask("What time is it?"));
    expect(anywhere.toolCalls[0]?.arguments).toBe("{}");
  });

  test("remembers and recalls facts through the matching tools", async () => {
    const saved = await localModel().complete(ask("Remember that my cat is called Tom."));
    expect(saved.toolCalls[0]).toMatchObject({ name: "remember", arguments: '{"fact":"my cat is called Tom"}' });
    const asked = await localModel().complete(ask("What do you remember about my cat?"));
    expect(asked.toolCalls[0]).toMatchObject({ name: "recall", arguments: '{"query":"my cat"}' });
  });

  test("asks for several tools at once when one message asks several things", async () => {
    const reply = await localModel().complete(ask("What is 2 + 2 and what time is it in London?"));
    expect(reply.toolCalls.map((c) => c.name)).toEqual(["calculator", "clock"]);
    expect(new Set(reply.toolCalls.map((c) => c.id)).size).toBe(2);
  });

  test("answers from the tool results once they are in, one sentence per call", async () => {
    const first = await localModel().complete(ask("What is 2 + 2 and what time is it in London?"));
    const messages: ChatMessage[] = [
      { role: "user", content: "What is 2 + 2 and what time is it in London?" },
      { role: "assistant", content: "", toolCalls: first.toolCalls },
      { role: "tool", toolCallId: first.toolCalls[0]?.id ?? "", content: '{"result":4}' },
      { role: "tool", toolCallId: first.toolCalls[1]?.id ?? "", content: '{"time":"12:00 BST"}' },
    ];
    const reply = await localModel().complete({ messages, tools });
    expect(reply).toMatchObject({ finishReason: "stop", toolCalls: [] });
    expect(reply.content).toBe("2 + 2 = 4. The time in Europe/London is 12:00 BST.");
  });

  test("says so when a tool failed, and when recall found nothing", async () => {
    const call = (await localModel().complete(ask("recall my dog"))).toolCalls[0];
    const base: ChatMessage[] = [
      { role: "user", content: "recall my dog" },
      { role: "assistant", content: "", toolCalls: call ? [call] : [] },
    ];
    const failed = await localModel().complete({
      messages: [...base, { role: "tool", toolCallId: call?.id ?? "", content: '{"error":"store offline"}' }],
      tools,
    });
    expect(failed.content).toBe("I could not use recall: store offline.");
    const empty = await localModel().complete({
      messages: [...base, { role: "tool", toolCallId: call?.id ?? "", content: '""' }],
      tools,
    });
    expect(empty.content).toBe("I do not remember anything about that.");
  });

  test("without a fitting tool it says it needs one, and it greets back", async () => {
    expect((await localModel().complete(ask("What is 2 + 2?", { tools: [] }))).content).toContain("need a tool");
    expect((await localModel().complete(ask("hello!", { tools: [] }))).content).toBe("Hello from the local model!");
  });

  test("stops at maxTokens with finish reason length", async () => {
    const reply = await localModel().complete(ask("tell me a long story about the sea", { maxTokens: 3 }));
    expect(reply.finishReason).toBe("length");
    expect(tokens(reply.content).length).toBe(3);
    expect(reply.usage.outputTokens).toBe(3);
  });

  test("streams one token per chunk, with a pause between them when asked", async () => {
    const texts: string[] = [];
    const began = performance.now();
    for await (const chunk of localModel({ tokenDelayMs: 5 }).stream(ask("hello there", { tools: [] }))) {
      if (chunk.type === "text") texts.push(chunk.text);
    }
    expect(texts).toEqual(["Hello", " from", " the", " local", " model!"]);
    // A lower bound only: five pauses of 5 ms cannot take less than 25 ms.
    expect(performance.now() - began).toBeGreaterThanOrEqual(20);
  });
});
