/**
 * The seed's flows, end to end over HTTP against real processes: the same checks for the app on
 * embedded defaults (one `dev` process) and on PostgreSQL and Redis (two web processes, a worker
 * and a scheduler), where `web` and `other` are different processes.
 */
import { expect } from "bun:test";

/** The app as a client sees it: two web URLs (the same one on embedded defaults) and a token per user. */
export interface Deployment {
  readonly web: string;
  readonly other: string;
  token(sub: string): Promise<string>;
}

interface Answer {
  response: string;
  message_id: string;
  run_id: string;
  status: string;
}

interface Entry {
  role: string;
  content: string;
  tool_calls?: Array<{ name: string }>;
  tool_name?: string;
}

async function call(url: string, init: RequestInit & { token: string }): Promise<Response> {
  const { token, headers, ...rest } = init;
  return fetch(url, { ...rest, headers: { authorization: `Bearer ${token}`, ...(headers as Record<string, string>) } });
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** Parses an SSE body into its events. */
export function parseEvents(text: string): Array<{ id?: string; type: string; [k: string]: unknown }> {
  return text
    .split("\n\n")
    .map((frame) => ({ id: /^id: (.*)$/m.exec(frame)?.[1], data: /^data: (.*)$/m.exec(frame)?.[1] }))
    .filter((f): f is { id: string | undefined; data: string } => f.data !== undefined)
    .map((f) => ({ ...(JSON.parse(f.data) as { type: string }), ...(f.id ? { id: f.id } : {}) }));
}

/**
 * Runs every flow: a session takes three messages (the first two on one web process, the third on
 * the other) and its history has them in order; a streamed reply with a tool call; memory per
 * user; another user's 404; an idempotent retry on the other process; the worker's title.
 */
export async function chatFlows(app: Deployment, suffix: string): Promise<void> {
  const alice = await app.token(`alice-${suffix}`);
  const bob = await app.token(`bob-${suffix}`);

  const created = await call(`${app.web}/chat/sessions`, { method: "POST", token: alice });
  expect(created.status).toBe(201);
  const { session_id: id } = (await created.json()) as { session_id: string };
  const base = (web: string) => `${web}/chat/sessions/${id}`;

  // Three messages, the last one to the other web process: history is in PostgreSQL, not in a process.
  const texts = ["hello", "What is 12 * (3 + 4)?", "Remember that my cat is called Mochi"];
  const answers: Answer[] = [];
  for (const [i, text] of texts.entries()) {
    const web = i === 2 ? app.other : app.web;
    const response = await call(`${base(web)}/messages`, { ...json({ text }), token: alice });
    expect(response.status).toBe(200);
    answers.push((await response.json()) as Answer);
  }
  expect(answers.map((a) => a.response)).toEqual([
    "Hello from the local model!",
    "12 * (3 + 4) = 84.",
    "I will remember that my cat is called Mochi.",
  ]);
  const history = ((await (await call(`${base(app.other)}/history`, { token: alice })).json()) as { history: Entry[] })
    .history;
  expect(history.map((m) => m.role)).toEqual([
    "user",
    "assistant",
    "user",
    "assistant",
    "tool",
    "assistant",
    "user",
    "assistant",
    "tool",
    "assistant",
  ]);
  expect(history.filter((m) => m.role === "user").map((m) => m.content)).toEqual(texts);
  expect(history.filter((m) => m.tool_calls).map((m) => m.tool_calls?.[0]?.name)).toEqual(["calculator", "remember"]);

  // Streaming, with a tool call, and the stream read again from the other process.
  const streamed = await call(`${base(app.web)}/messages`, {
    ...json({ text: "What time is it in Tokyo?" }, { accept: "text/event-stream" }),
    token: alice,
  });
  expect(streamed.headers.get("content-type")).toStartWith("text/event-stream");
  const runId = streamed.headers.get("x-run-id") as string;
  const events = parseEvents(await streamed.text());
  expect(events.map((e) => e.type)).toContain("tool_call");
  expect(events.at(-1)).toMatchObject({ type: "done" });
  expect(String(events.at(-1)?.text)).toStartWith("The time in Asia/Tokyo is ");
  const third = events[2]?.id as string;
  const resumed = parseEvents(
    await (
      await call(`${base(app.other)}/runs/${runId}/events`, { headers: { "last-event-id": third }, token: alice })
    ).text(),
  );
  expect(resumed.map((e) => e.id)).toEqual(events.slice(3).map((e) => e.id));

  // Memory is per user; a session is its owner's: another user gets 404.
  const bobSession = (await (await call(`${app.other}/chat/sessions`, { method: "POST", token: bob })).json()) as {
    session_id: string;
  };
  const recall = (await (
    await call(`${app.web}/chat/sessions/${bobSession.session_id}/messages`, {
      ...json({ text: "What do you remember about my cat?" }),
      token: bob,
    })
  ).json()) as Answer;
  expect(recall.response).toBe("I do not remember anything about that.");
  for (const url of [`${base(app.web)}/history`, `${base(app.other)}`]) {
    expect((await call(url, { token: bob })).status).toBe(404);
  }

  // Idempotent retry: the first request on one process, the retry on the other; one exchange stored.
  const key = { "idempotency-key": `retry-${suffix}` };
  const first = (await (
    await call(`${base(app.web)}/messages`, { ...json({ text: "hello again" }, key), token: alice })
  ).json()) as Answer;
  const retry = await call(`${base(app.other)}/messages`, { ...json({ text: "hello again" }, key), token: alice });
  expect(retry.headers.get("idempotent-replayed")).toBe("true");
  expect(((await retry.json()) as Answer).message_id).toBe(first.message_id);
  const after = ((await (await call(`${base(app.web)}/history`, { token: alice })).json()) as { history: Entry[] })
    .history;
  expect(after.filter((m) => m.content === "hello again")).toHaveLength(1);

  // Sessions list newest first, a page at a time, the cursor good on either process.
  const newer = (await (await call(`${app.web}/chat/sessions`, { method: "POST", token: alice })).json()) as {
    session_id: string;
  };
  const page1 = (await (await call(`${app.web}/chat/sessions?limit=1`, { token: alice })).json()) as {
    sessions: Array<{ session_id: string }>;
    next_cursor: string;
  };
  const page2 = (await (
    await call(`${app.other}/chat/sessions?limit=1&cursor=${encodeURIComponent(page1.next_cursor)}`, { token: alice })
  ).json()) as { sessions: Array<{ session_id: string }>; next_cursor: string | null };
  expect([...page1.sessions, ...page2.sessions].map((s) => s.session_id)).toEqual([newer.session_id, id]);
  expect(page2.next_cursor).toBeNull();

  // The worker titled the session after its first reply.
  const deadline = Date.now() + 30_000;
  let title: string | null = null;
  while (title === null && Date.now() < deadline) {
    title = ((await (await call(base(app.other), { token: alice })).json()) as { title: string | null }).title;
    if (title === null) await Bun.sleep(50);
  }
  expect(title).toBe("hello");
}
