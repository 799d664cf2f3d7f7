import { beforeAll, describe, expect, test } from "bun:test";
import { ChatModel, type ChatRequest, override, Queue } from "@twelvefold/kernel";
import { memoryQueue } from "@twelvefold/kernel/memory";
import type { StoredMessage } from "../db/sessions.ts";
import { testDatabase } from "../db/testdata/database.ts";
import { bootAgent, openSession, post, until } from "../testdata/app.ts";
import { AgentStore } from "../tokens.ts";
import { summariseJob, summaryCut, titleOf } from "./summarise.ts";

beforeAll(() => testDatabase(), 180_000);

const row = (seq: number, role: StoredMessage["role"], content: string, calls = false) =>
  ({
    seq,
    role,
    content,
    toolCalls: calls ? [{ id: "c", name: "calculator", arguments: "{}" }] : null,
  }) as StoredMessage;

describe("the summarise-and-title job", () => {
  test("a title is the first message's first words; a summary never cuts a tool call from its result", () => {
    expect(titleOf([row(1, "user", "  What is\n12 * 7?  ")])).toBe("What is 12 * 7?");
    const long = "Please tell me everything you know about the twelve-factor methodology and its history";
    expect(titleOf([row(1, "user", long)])).toBe("Please tell me everything you know about the twelve-factor…");
    expect(titleOf([])).toBeUndefined();
    const history = [
      row(1, "user", "a"),
      row(2, "assistant", "", true),
      row(3, "tool", "42"),
      row(4, "assistant", "42."),
      row(5, "user", "b"),
      row(6, "assistant", "", true),
      row(7, "tool", "7"),
      row(8, "assistant", "7."),
    ];
    expect(summaryCut(history, 2)).toBe(3);
    expect(summaryCut(history, 7)).toBeUndefined();
  });

  test("after a reply the worker titles the session, and a long one gets a summary the model then sees", async () => {
    await using t = await bootAgent({ env: { AGENT_SUMMARY_AFTER_MESSAGES: "4" } });
    const id = await openSession(t);
    for (const text of ["hello", "my name is Ada", "I like tea"]) {
      expect((await t.fetch(`/chat/sessions/${id}/messages`, post({ text }))).status).toBe(200);
    }
    const { sessions } = t.get(AgentStore);
    await until(async () => (await sessions.byId(id))?.summary != null, "the summary");
    const session = await sessions.byId(id);
    expect(session?.title).toBe("hello");
    expect(session?.summaryThrough).toBeGreaterThan(0);
    const context = await sessions.context(id);
    expect(context[0]?.role).toBe("system");
    expect(context[0]?.content).toStartWith("Summary of the conversation so far: ");
    // The summary stands for the oldest messages: the model sees fewer messages than the history holds.
    expect(context.length - 1).toBeLessThan((await sessions.history(id)).length);
    expect(context.at(-1)).toEqual({ role: "assistant", content: expect.stringContaining("I like tea") });
  });

  test("a model that keeps failing: the job is retried, then dead-lettered with the error", async () => {
    const queue = memoryQueue();
    let calls = 0;
    const failing: ChatModel = {
      provider: "test",
      model: "down",
      complete(_request: ChatRequest) {
        calls++;
        return Promise.reject(Object.assign(new Error("test: the model is down"), { retryable: true }));
      },
      // biome-ignore lint/correctness/useYield: a stream that fails before its first chunk
      async *stream() {
        throw new Error("test: the model is down");
      },
    };
    await using t = await bootAgent({
      env: { AGENT_SUMMARY_AFTER_MESSAGES: "4" },
      overrides: [override(Queue, queue), override(ChatModel, failing)],
      process: "worker",
    });
    const { sessions } = t.get(AgentStore);
    const id = (await sessions.create("someone", { max: 10 }))?.id as string;
    for (let i = 0; i < 3; i++) {
      await sessions.save(
        id,
        {
          runId: crypto.randomUUID(),
          user: "someone",
          input: [{ role: "user", content: `message ${i}` }],
          messages: [{ role: "assistant", content: `answer ${i}` }],
          reply: `answer ${i}`,
          usage: { input_tokens: 1, output_tokens: 1 },
          turns: [],
        },
        { model: undefined, costUsd: undefined },
      );
    }
    await summariseJob.enqueue(queue, { session_id: id });
    await until(async () => (await queue.deadLetters("chat.summarise")).length === 1, "the dead letter", 60_000);
    const [dead] = await queue.deadLetters("chat.summarise");
    expect(dead?.error).toContain("the model is down");
    expect(dead?.attempt).toBe(3);
    expect(calls).toBe(3);
    // The title needs no model: it was set on the first attempt all the same.
    expect((await sessions.byId(id))?.title).toBe("message 0");
    await queue.close();
  });
});
