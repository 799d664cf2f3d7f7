import { beforeAll, describe, expect, test } from "bun:test";
import { Facts } from "../db/facts.ts";
import { IdempotencyKeys } from "../db/idempotency.ts";
import { Sessions } from "../db/sessions.ts";
import { testDatabase as db, owner } from "../db/testdata/database.ts";
import { bootAgent, openSession, post, readEvents } from "../testdata/app.ts";
import { AgentStore } from "../tokens.ts";
import { idempotency } from "./idempotency.ts";

beforeAll(() => db(), 180_000);

interface Answer {
  response: string;
  message_id: string;
  run_id: string;
}

const historyOf = async (t: Awaited<ReturnType<typeof bootAgent>>, id: string) =>
  ((await (await t.fetch(`/chat/sessions/${id}/history`)).json()) as { history: Array<{ role: string }> }).history;

describe("Idempotency-Key on POST /chat/sessions/:id/messages", () => {
  test("a retry gets the first answer and stores no second message", async () => {
    await using t = await bootAgent();
    const id = await openSession(t);
    const send = () =>
      t.fetch(`/chat/sessions/${id}/messages`, post({ text: "What is 2 + 2?" }, { "idempotency-key": "k-1" }));
    const first = await send();
    const retry = await send();
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    const [a, b] = [(await first.json()) as Answer, (await retry.json()) as Answer];
    expect(b).toEqual(a);
    expect(await historyOf(t, id)).toHaveLength(4);
    // Without the key, the same text is a new message.
    await t.fetch(`/chat/sessions/${id}/messages`, post({ text: "What is 2 + 2?" }));
    expect(await historyOf(t, id)).toHaveLength(8);
  });

  test("concurrent duplicates follow the first request's run and get its answer; one exchange is stored", async () => {
    await using t = await bootAgent({ env: { LLM_LOCAL_TOKEN_DELAY_MS: "10" } });
    const id = await openSession(t);
    const requests = Array.from({ length: 4 }, () =>
      t.fetch(`/chat/sessions/${id}/messages`, post({ text: "hello there" }, { "idempotency-key": "same" })),
    );
    const answers = (await Promise.all((await Promise.all(requests)).map((r) => r.json()))) as Answer[];
    expect(new Set(answers.map((a) => a.run_id)).size).toBe(1);
    expect(new Set(answers.map((a) => a.message_id)).size).toBe(1);
    expect(await historyOf(t, id)).toHaveLength(2);
  });

  test("a streamed retry gets the first run's events again", async () => {
    await using t = await bootAgent();
    const id = await openSession(t);
    const stream = { accept: "text/event-stream", "idempotency-key": "s-1" };
    const first = await readEvents(await t.fetch(`/chat/sessions/${id}/messages`, post({ text: "hello" }, stream)));
    const again = await readEvents(await t.fetch(`/chat/sessions/${id}/messages`, post({ text: "hello" }, stream)));
    expect(again.map((e) => e.id)).toEqual(first.map((e) => e.id));
    expect(await historyOf(t, id)).toHaveLength(2);
  });

  test("the same key for another message is a 422, a malformed key a 400, and neither stores anything", async () => {
    await using t = await bootAgent();
    const id = await openSession(t);
    await t.fetch(`/chat/sessions/${id}/messages`, post({ text: "one" }, { "idempotency-key": "k" }));
    const other = await t.fetch(`/chat/sessions/${id}/messages`, post({ text: "two" }, { "idempotency-key": "k" }));
    expect(other.status).toBe(422);
    expect(((await other.json()) as { invalid_params: Array<{ name: string }> }).invalid_params[0]?.name).toBe(
      "Idempotency-Key",
    );
    const bad = await t.fetch(`/chat/sessions/${id}/messages`, post({ text: "two" }, { "idempotency-key": "a b" }));
    expect(bad.status).toBe(400);
    expect(await historyOf(t, id)).toHaveLength(2);
  });

  test("a duplicate of a request that has claimed its key but started no run is told to retry: 409, Retry-After", async () => {
    await using t = await bootAgent();
    const id = await openSession(t);
    const dev = (await t.app.inspectConfig()).find((e) => e.name === "AGENT_DEV_USER")?.value as string;
    const text = "a message whose first request is stuck";
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${id}\n${text}`));
    const fingerprint = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    await t.get(AgentStore).keys.claim(dev, "stuck", { sessionId: id, fingerprint, ttlMs: 60_000 });
    const response = await t.fetch(`/chat/sessions/${id}/messages`, post({ text }, { "idempotency-key": "stuck" }));
    expect(response.status).toBe(409);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await historyOf(t, id)).toEqual([]);
  });
});

describe("the key's life, in the store", () => {
  const context = (key?: string) =>
    ({ req: { header: (name: string) => (name === "idempotency-key" ? key : undefined) } }) as never;

  test("without a key nothing is claimed; a claimed key that fails before its run, or whose run fails, is let go", async () => {
    const drizzle = await db();
    const store = {
      db: drizzle,
      sessions: new Sessions(drizzle),
      facts: new Facts(drizzle),
      keys: new IdempotencyKeys(drizzle),
    };
    const keys = idempotency(store, { ttlMs: 60_000 });
    const ada = owner("ada");
    const sessionId = (await store.sessions.create(ada, { max: 5 }))?.id as string;
    const request = { owner: ada, sessionId, text: "hi" };

    const none = await keys.claim(context(), request);
    expect(none.kind).toBe("fresh");
    if (none.kind === "fresh") {
      await none.release();
      expect(await none.started("r-0")).toEqual({ runId: "r-0", sessionId, replayed: false });
    }

    const early = await keys.claim(context("k-early"), request);
    if (early.kind !== "fresh") throw new Error("expected a fresh claim");
    await early.release();
    expect(await store.keys.find(ada, "k-early")).toBeUndefined();

    const failing = await keys.claim(context("k-failed"), request);
    if (failing.kind !== "fresh") throw new Error("expected a fresh claim");
    const followed = await failing.started(crypto.randomUUID());
    expect((await store.keys.find(ada, "k-failed"))?.runId).toBe(followed.runId);
    await followed.failed?.();
    expect((await keys.claim(context("k-failed"), request)).kind).toBe("fresh");
  });
});
