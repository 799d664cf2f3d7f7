import { beforeAll, describe, expect, test } from "bun:test";
import type { Exchange } from "@twelvefold/agent";
import { decodeCursor, Sessions } from "./sessions.ts";
import { owner, testDatabase } from "./testdata/database.ts";

// The first start of the shared PGlite runs initdb (seconds on a busy machine), once per test process.
beforeAll(() => testDatabase(), 180_000);

const sessions = async () => new Sessions(await testDatabase());

function exchange(runId: string, text: string, reply: string): Exchange {
  const call = { id: `call-${runId.slice(0, 4)}`, name: "calculator", arguments: '{"expression":"6*7"}' };
  return {
    runId,
    user: "u",
    input: [{ role: "user", content: text }],
    messages: [
      { role: "assistant", content: "", toolCalls: [call] },
      { role: "tool", content: '{"result":42}', toolCallId: call.id },
      { role: "assistant", content: reply },
    ],
    reply,
    usage: { input_tokens: 10, output_tokens: 5 },
    turns: [
      { step: 0, model: "m", usage: { input_tokens: 4, output_tokens: 2 } },
      { step: 1, model: "m", usage: { input_tokens: 6, output_tokens: 3 } },
    ],
  };
}

describe("sessions", () => {
  test("a user's sessions list newest first, a page at a time, and stop at the limit per user", async () => {
    const store = await sessions();
    const ada = owner("ada");
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await store.create(ada, { max: 5 }));
    expect(await store.create(ada, { max: 5 })).toBeUndefined();
    expect(await store.create(owner("bob"), { max: 5 })).toBeDefined();

    const first = await store.list(ada, { limit: 2 });
    const second = await store.list(ada, { limit: 2, cursor: first.next });
    const third = await store.list(ada, { limit: 2, cursor: second.next });
    const ids = [...first.sessions, ...second.sessions, ...third.sessions].map((s) => s.id);
    expect(ids).toEqual(made.map((s) => s?.id as string).reverse());
    expect(third.next).toBeUndefined();
    expect(decodeCursor("not a cursor")).toBeUndefined();
  });

  test("sessions created at once by racing replicas still stop at the limit", async () => {
    const store = await sessions();
    const ada = owner("ada");
    const made = await Promise.all(Array.from({ length: 6 }, () => store.create(ada, { max: 3 })));
    expect(made.filter(Boolean)).toHaveLength(3);
  });

  test("another user neither finds nor deletes a session; its owner deletes it with its messages", async () => {
    const store = await sessions();
    const ada = owner("ada");
    const session = await store.create(ada, { max: 10 });
    const id = session?.id as string;
    expect(await store.find(owner("eve"), id)).toBeUndefined();
    expect(await store.delete(owner("eve"), id)).toBe(false);
    await store.save(id, exchange(crypto.randomUUID(), "one", "two"), { model: "m", costUsd: 0.5 });
    expect(await store.delete(ada, id)).toBe(true);
    expect(await store.find(ada, id)).toBeUndefined();
    expect(await store.history(id)).toEqual([]);
  });

  test("an exchange is saved once, in order, with its tool calls, its usage and its cost", async () => {
    const store = await sessions();
    const ada = owner("ada");
    const id = (await store.create(ada, { max: 10 }))?.id as string;
    const runId = crypto.randomUUID();
    await store.startRun({ id: runId, sessionId: id, owner: ada });
    const saved = await store.save(id, exchange(runId, "What is 6 * 7?", "42."), { model: "m", costUsd: 0.25 });
    const again = await store.save(id, exchange(runId, "What is 6 * 7?", "42."), { model: "m", costUsd: 0.25 });
    expect(again.messageId).toBe(saved.messageId as string);

    const history = await store.history(id);
    expect(history.map((m) => [m.role, m.content, m.toolName ?? m.toolCalls?.[0]?.name ?? null])).toEqual([
      ["user", "What is 6 * 7?", null],
      ["assistant", "", "calculator"],
      ["tool", '{"result":42}', "calculator"],
      ["assistant", "42.", null],
    ]);
    expect(history.at(-1)?.id).toBe(saved.messageId as string);
    const run = await store.findRun(id, runId);
    expect(run).toMatchObject({ status: "done", owner: ada, inputTokens: 10, outputTokens: 5, costUsd: 0.25 });
    expect(run?.replyMessageId).toBe(saved.messageId as string);
    expect((await store.find(ada, id))?.messageCount).toBe(4);
    expect(await store.findRun(crypto.randomUUID(), runId)).toBeUndefined();
  });

  test("the model sees the summary in place of the messages it covers", async () => {
    const store = await sessions();
    const id = (await store.create(owner(), { max: 10 }))?.id as string;
    await store.save(id, exchange(crypto.randomUUID(), "first", "one"), { model: undefined, costUsd: undefined });
    await store.save(id, exchange(crypto.randomUUID(), "second", "two"), { model: undefined, costUsd: undefined });
    expect((await store.context(id)).filter((m) => m.role === "user").map((m) => m.content)).toEqual([
      "first",
      "second",
    ]);
    const history = await store.history(id);
    await store.setSummary(id, "they said first", history[3]?.seq as number);
    const context = await store.context(id);
    expect(context[0]).toEqual({ role: "system", content: "Summary of the conversation so far: they said first" });
    expect(context.slice(1).map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
    expect(context[1]).toEqual({ role: "user", content: "second" });
  });

  test("a run stopped by a limit after a tool result still ends its history with the answer", async () => {
    const store = await sessions();
    const id = (await store.create(owner(), { max: 10 }))?.id as string;
    const cut = exchange(crypto.randomUUID(), "go", "partial");
    await store.save(id, { ...cut, messages: cut.messages.slice(0, 2) }, { model: "m", costUsd: undefined });
    expect((await store.history(id)).map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
  });

  test("saving into a session deleted while its run ran keeps nothing", async () => {
    const store = await sessions();
    const ada = owner();
    const id = (await store.create(ada, { max: 10 }))?.id as string;
    await store.delete(ada, id);
    expect(await store.save(id, exchange(crypto.randomUUID(), "a", "b"), { model: "m", costUsd: 1 })).toEqual({});
  });
});
