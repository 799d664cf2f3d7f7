import { beforeAll, describe, expect, test } from "bun:test";
import { testDatabase } from "../db/testdata/database.ts";
import { bearer, bootAgent, openSession, post, readEvents, type StreamEvent, subject, until } from "../testdata/app.ts";

// The first start of the shared PGlite runs initdb (seconds on a busy machine), once per test process.
beforeAll(() => testDatabase(), 180_000);

interface Answer {
  response: string;
  message_id: string;
  run_id: string;
  status: string;
  usage: { input_tokens: number; output_tokens: number; cost_usd: number | null };
}
interface HistoryEntry {
  id: string;
  role: string;
  content: string;
  tool_calls?: Array<{ name: string; arguments: string }>;
  tool_name?: string;
}

describe("the chat API, every process type in one", () => {
  test("a session takes three messages; its history holds them and the answers, in order", async () => {
    await using t = await bootAgent();
    const id = await openSession(t);
    const answers: Answer[] = [];
    for (const text of ["hello", "the first thing", "the second thing"]) {
      const response = await t.fetch(`/chat/sessions/${id}/messages`, post({ text }));
      expect(response.status).toBe(200);
      answers.push((await response.json()) as Answer);
    }
    expect(answers[0]).toMatchObject({ status: "done", response: "Hello from the local model!" });
    expect(answers[1]?.response).toStartWith('You said: "the first thing"');
    for (const answer of answers) {
      expect(answer.message_id).toBeString();
      expect(answer.usage.input_tokens).toBeGreaterThan(0);
      expect(answer.usage.output_tokens).toBeGreaterThan(0);
    }

    const history = (await (await t.fetch(`/chat/sessions/${id}/history`)).json()) as { history: HistoryEntry[] };
    expect(history.history.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user", "assistant"]);
    expect(history.history.filter((m) => m.role === "user").map((m) => m.content)).toEqual([
      "hello",
      "the first thing",
      "the second thing",
    ]);
    expect(history.history.filter((m) => m.role === "assistant").map((m) => m.id)).toEqual(
      answers.map((a) => a.message_id),
    );
  });

  test("with Accept: text/event-stream the reply streams: ids on every event, the tool call and its result, then done", async () => {
    await using t = await bootAgent();
    const id = await openSession(t);
    const response = await t.fetch(
      `/chat/sessions/${id}/messages`,
      post({ text: "What is 12 * (3 + 4)?" }, { accept: "text/event-stream" }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("text/event-stream");
    const runId = response.headers.get("x-run-id");
    const events = await readEvents(response);
    expect(events.every((e) => typeof e.id === "string")).toBe(true);
    const types = events.map((e) => e.type);
    expect(types.indexOf("tool_call")).toBeLessThan(types.indexOf("tool_result"));
    expect(types.at(-1)).toBe("done");
    expect(events.find((e) => e.type === "tool_call")).toMatchObject({ call: { name: "calculator" } });
    expect(events.find((e) => e.type === "tool_result")).toMatchObject({ ok: true, content: '{"result":84}' });
    const text = events
      .filter((e) => e.type === "text")
      .map((e) => e.text)
      .join("");
    expect(text).toBe("12 * (3 + 4) = 84.");

    const history = (await (await t.fetch(`/chat/sessions/${id}/history`)).json()) as { history: HistoryEntry[] };
    expect(history.history.map((m) => [m.role, m.tool_calls?.[0]?.name ?? m.tool_name ?? null])).toEqual([
      ["user", null],
      ["assistant", "calculator"],
      ["tool", "calculator"],
      ["assistant", null],
    ]);
    expect(history.history.at(-1)?.content).toBe("12 * (3 + 4) = 84.");
    expect(runId).toBeString();
  });

  test("the tools: the time in a time zone, and a memory per user that another user cannot recall", async () => {
    await using t = await bootAgent();
    const [alice, bob] = [await bearer(t, subject("alice")), await bearer(t, subject("bob"))];
    const ask = async (headers: Record<string, string>, id: string, text: string) =>
      ((await (await t.fetch(`/chat/sessions/${id}/messages`, post({ text }, headers))).json()) as Answer).response;
    const aliceSession = await openSession(t, alice);
    const bobSession = await openSession(t, bob);

    expect(await ask(alice, aliceSession, "What time is it in Tokyo?")).toStartWith("The time in Asia/Tokyo is ");
    expect(await ask(alice, aliceSession, "Remember that my cat is called Mochi")).toBe(
      "I will remember that my cat is called Mochi.",
    );
    // Recalled in another session of hers: the memory is the user's, not the session's.
    expect(await ask(alice, await openSession(t, alice), "What do you remember about my cat?")).toBe(
      "Here is what I remember: my cat is called Mochi.",
    );
    expect(await ask(bob, bobSession, "What do you remember about my cat?")).toBe(
      "I do not remember anything about that.",
    );
  });

  test("another user gets 404 for a session, as for one that does not exist; a bad token is a 401", async () => {
    await using t = await bootAgent();
    const alice = await bearer(t, subject("alice"));
    const eve = await bearer(t, subject("eve"));
    const id = await openSession(t, alice);
    const answer = (await (
      await t.fetch(`/chat/sessions/${id}/messages`, post({ text: "hello" }, alice))
    ).json()) as Answer;

    const theirs = [
      await t.fetch(`/chat/sessions/${id}`, { headers: eve }),
      await t.fetch(`/chat/sessions/${id}/history`, { headers: eve }),
      await t.fetch(`/chat/sessions/${id}/messages`, post({ text: "hi" }, eve)),
      await t.fetch(`/chat/sessions/${id}/runs/${answer.run_id}/events`, { headers: eve }),
      await t.fetch(`/chat/sessions/${id}`, { method: "DELETE", headers: eve }),
    ];
    const missing = await t.fetch(`/chat/sessions/${crypto.randomUUID()}/history`, { headers: alice });
    for (const response of [...theirs, missing]) {
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toStartWith("application/problem+json");
      expect(((await response.json()) as { detail: string }).detail).toBe("No such session");
    }
    // Nothing of Eve's request reached Alice's session.
    const history = (await (await t.fetch(`/chat/sessions/${id}/history`, { headers: alice })).json()) as {
      history: unknown[];
    };
    expect(history.history).toHaveLength(2);

    const forged = await t.fetch("/chat/sessions", { method: "POST", headers: { authorization: "Bearer a.b.c" } });
    expect(forged.status).toBe(401);
    expect(forged.headers.get("www-authenticate")).toStartWith("Bearer");
  });

  test("outside development and testing a token is required: there is no development user", async () => {
    await using t = await bootAgent({
      env: { ENVIRONMENT: "staging", SECRET_KEY: "a-staging-secret-of-32-characters-or-more" },
    });
    const anonymous = await t.fetch("/chat/sessions", { method: "POST" });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { detail: string }).detail).toBe("A bearer token is required");
    expect((await t.fetch("/chat/sessions", { method: "POST", headers: await bearer(t, subject()) })).status).toBe(201);
  });

  test("sessions list newest first, a page at a time; a deleted one is gone", async () => {
    await using t = await bootAgent();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await openSession(t));
    const first = (await (await t.fetch("/chat/sessions?limit=2")).json()) as {
      sessions: Array<{ session_id: string }>;
      next_cursor: string | null;
    };
    expect(first.sessions.map((s) => s.session_id)).toEqual([ids[2] as string, ids[1] as string]);
    const second = (await (await t.fetch(`/chat/sessions?limit=2&cursor=${first.next_cursor}`)).json()) as {
      sessions: Array<{ session_id: string }>;
      next_cursor: string | null;
    };
    expect(second).toMatchObject({ sessions: [{ session_id: ids[0] }], next_cursor: null });
    expect((await t.fetch("/chat/sessions?limit=1000")).status).toBe(400);
    expect((await t.fetch("/chat/sessions?cursor=nonsense")).status).toBe(200);

    expect((await t.fetch(`/chat/sessions/${ids[1]}`, { method: "DELETE" })).status).toBe(204);
    expect((await t.fetch(`/chat/sessions/${ids[1]}`, { method: "DELETE" })).status).toBe(404);
    expect((await t.fetch(`/chat/sessions/${ids[1]}/history`)).status).toBe(404);
    const after = (await (await t.fetch("/chat/sessions")).json()) as { sessions: Array<{ session_id: string }> };
    expect(after.sessions.map((s) => s.session_id)).toEqual([ids[2] as string, ids[0] as string]);
  });
});

describe("limits", () => {
  test("a message over AGENT_MAX_MESSAGE_CHARS is a 422 and nothing is stored; JSON only as JSON", async () => {
    await using t = await bootAgent({ env: { AGENT_MAX_MESSAGE_CHARS: "10" } });
    const id = await openSession(t);
    const long = await t.fetch(`/chat/sessions/${id}/messages`, post({ text: "eleven chars" }));
    expect(long.status).toBe(422);
    const form = await t.fetch(`/chat/sessions/${id}/messages`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: '{"text":"hi"}',
    });
    expect(form.status).toBe(415);
    const history = (await (await t.fetch(`/chat/sessions/${id}/history`)).json()) as { history: unknown[] };
    expect(history.history).toEqual([]);
  });

  test("past AGENT_MAX_SESSIONS_PER_USER a new session is a 409 until one is deleted", async () => {
    await using t = await bootAgent({ env: { AGENT_MAX_SESSIONS_PER_USER: "2" } });
    const first = await openSession(t);
    await openSession(t);
    const third = await t.fetch("/chat/sessions", { method: "POST" });
    expect(third.status).toBe(409);
    expect(((await third.json()) as { code: string }).code).toBe("TF_HTTP_CONFLICT");
    await t.fetch(`/chat/sessions/${first}`, { method: "DELETE" });
    expect((await t.fetch("/chat/sessions", { method: "POST" })).status).toBe(201);
  });

  test("past AGENT_MESSAGES_PER_MINUTE a user's next message is a 429 with Retry-After; another user still sends", async () => {
    await using t = await bootAgent({ env: { AGENT_MESSAGES_PER_MINUTE: "2" } });
    const alice = await bearer(t, subject("alice"));
    const bob = await bearer(t, subject("bob"));
    const id = await openSession(t, alice);
    const send = (headers: Record<string, string>, session: string) =>
      t.fetch(`/chat/sessions/${session}/messages`, post({ text: "hello" }, headers));
    expect((await send(alice, id)).status).toBe(200);
    expect((await send(alice, id)).status).toBe(200);
    const third = await send(alice, id);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await send(bob, await openSession(t, bob))).status).toBe(200);
    const history = (await (await t.fetch(`/chat/sessions/${id}/history`, { headers: alice })).json()) as {
      history: unknown[];
    };
    expect(history.history).toHaveLength(4);
  });
});

describe("a run's stream", () => {
  test("resumes after a dropped connection from its Last-Event-ID, with every event once", async () => {
    await using t = await bootAgent({ env: { LLM_LOCAL_TOKEN_DELAY_MS: "5" } });
    const id = await openSession(t);
    const first = await t.fetch(
      `/chat/sessions/${id}/messages`,
      post({ text: "What is 6 * 7? And what time is it in Paris?" }, { accept: "text/event-stream" }),
    );
    const runId = first.headers.get("x-run-id") as string;
    const before = await readEvents(first, 3);
    const resumed = await t.fetch(`/chat/sessions/${id}/runs/${runId}/events`, {
      headers: { "last-event-id": before.at(-1)?.id as string },
    });
    expect(resumed.status).toBe(200);
    const after = await readEvents(resumed);
    const all: StreamEvent[] = [...before, ...after];
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    expect(all.at(-1)?.type).toBe("done");
    const whole = await readEvents(await t.fetch(`/chat/sessions/${id}/runs/${runId}/events`));
    expect(all.map((e) => e.id)).toEqual(whole.map((e) => e.id));
    expect((await t.fetch(`/chat/sessions/${id}/runs/${crypto.randomUUID()}/events`)).status).toBe(404);
  });

  test("a run can be stopped: its stream ends with cancelled", async () => {
    await using t = await bootAgent({ env: { LLM_LOCAL_TOKEN_DELAY_MS: "200" } });
    const id = await openSession(t);
    const response = await t.fetch(
      `/chat/sessions/${id}/messages`,
      post({ text: "tell me a long story about twelve factors" }, { accept: "text/event-stream" }),
    );
    const runId = response.headers.get("x-run-id") as string;
    const events = readEvents(response);
    await until(
      async () => (await t.fetch(`/chat/sessions/${id}/runs/${runId}`, { method: "DELETE" })).status === 202,
      "the cancel",
    );
    expect((await events).at(-1)).toMatchObject({ type: "cancelled" });
  });
});
