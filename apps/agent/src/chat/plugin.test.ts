import { describe, expect, test } from "bun:test";
import { ChatModel, type ChatRequest, type ChatResponse, override } from "@twelvefold/kernel";
import { testApp } from "@twelvefold/testing";
import { agentPlugins } from "../app.ts";

/** Answers with the number of the turn and the user's last words, so order is visible. */
const echoModel: ChatModel = {
  provider: "test",
  model: "echo",
  async complete(request: ChatRequest): Promise<ChatResponse> {
    const users = request.messages.filter((m) => m.role === "user");
    const last = users.at(-1)?.content ?? "";
    return {
      model: "echo",
      content: `turn ${users.length}: ${last}`,
      toolCalls: [],
      finishReason: "stop",
      usage: { inputTokens: request.messages.length, outputTokens: 3 },
    };
  },
  async *stream() {
    yield { type: "done", finishReason: "stop", usage: { inputTokens: 0, outputTokens: 0 }, model: "echo" } as const;
  },
};

async function boot() {
  return testApp({
    plugins: agentPlugins(),
    overrides: [override(ChatModel, echoModel)],
    env: { PORT: "0", HOST: "127.0.0.1" },
  });
}

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("chat routes", () => {
  test("a session takes three messages and keeps them, with the answers, in order", async () => {
    await using t = await boot();
    const created = await t.fetch("/chat/sessions", { method: "POST" });
    expect(created.status).toBe(201);
    const { session_id } = (await created.json()) as { session_id: string };

    for (const text of ["one", "two", "three"]) {
      const answer = await t.fetch(`/chat/sessions/${session_id}/messages`, json({ text }));
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as { response: string; message_id: string; usage: { output_tokens: number } };
      expect(body.response).toEndWith(`: ${text}`);
      expect(body.message_id).toBeString();
      expect(body.usage.output_tokens).toBe(3);
    }

    const history = (await (await t.fetch(`/chat/sessions/${session_id}/history`)).json()) as {
      history: Array<{ role: string; content: string }>;
    };
    expect(history.history.map((m) => `${m.role}:${m.content}`)).toEqual([
      "user:one",
      "assistant:turn 1: one",
      "user:two",
      "assistant:turn 2: two",
      "user:three",
      "assistant:turn 3: three",
    ]);
  });

  test("an unknown or malformed session id is a 404 problem, and a bad message a 422", async () => {
    await using t = await boot();
    const missing = await t.fetch(`/chat/sessions/${crypto.randomUUID()}/history`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    expect((await t.fetch("/chat/sessions/not-a-uuid/messages", json({ text: "hi" }))).status).toBe(404);

    const { session_id } = (await (await t.fetch("/chat/sessions", { method: "POST" })).json()) as {
      session_id: string;
    };
    const empty = await t.fetch(`/chat/sessions/${session_id}/messages`, json({ text: "   " }));
    expect(empty.status).toBe(422);
    const history = (await (await t.fetch(`/chat/sessions/${session_id}/history`)).json()) as { history: unknown[] };
    expect(history.history).toEqual([]);
  });
});
