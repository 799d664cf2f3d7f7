import { beforeAll, expect, test } from "bun:test";
import type { Exchange } from "@twelvefold/agent";
import { and, eq } from "drizzle-orm";
import { IdempotencyKeys } from "./idempotency.ts";
import { purge, rollUp } from "./maintenance.ts";
import { runs, sessions, usageRollups } from "./schema.ts";
import { Sessions } from "./sessions.ts";
import { owner, testDatabase } from "./testdata/database.ts";

// The first start of the shared PGlite runs initdb (seconds on a busy machine), once per test process.
beforeAll(() => testDatabase(), 180_000);

const exchange = (runId: string): Exchange => ({
  runId,
  user: "u",
  input: [{ role: "user", content: "hi" }],
  messages: [{ role: "assistant", content: "hello" }],
  reply: "hello",
  usage: { input_tokens: 7, output_tokens: 3 },
  turns: [],
});

test("the roll-up sums each user's runs per hour, and running it again changes nothing", async () => {
  const db = await testDatabase();
  const store = new Sessions(db);
  const ada = owner("ada");
  const id = (await store.create(ada, { max: 10 }))?.id as string;
  for (let i = 0; i < 3; i++) await store.save(id, exchange(crypto.randomUUID()), { model: "m", costUsd: 0.1 });
  const since = new Date(Date.now() - 3_600_000);
  expect(await rollUp(db, { since })).toBeGreaterThanOrEqual(1);
  await rollUp(db, { since });
  const rows = await db.select().from(usageRollups).where(eq(usageRollups.owner, ada));
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ runs: 3, inputTokens: 21, outputTokens: 9 });
  expect(rows[0]?.costUsd).toBeCloseTo(0.3, 8);
});

test("the purge deletes idle sessions with their messages and old runs, and keeps the rest", async () => {
  const db = await testDatabase();
  const store = new Sessions(db);
  const ada = owner("ada");
  const old = (await store.create(ada, { max: 10 }))?.id as string;
  const fresh = (await store.create(ada, { max: 10 }))?.id as string;
  const oldRun = crypto.randomUUID();
  await store.save(old, exchange(oldRun), { model: "m", costUsd: 0 });
  await store.save(fresh, exchange(crypto.randomUUID()), { model: "m", costUsd: 0 });
  const longAgo = new Date(Date.now() - 40 * 86_400_000);
  await db.update(sessions).set({ updatedAt: longAgo }).where(eq(sessions.id, old));
  await db.update(runs).set({ finishedAt: longAgo }).where(eq(runs.id, oldRun));
  await new IdempotencyKeys(db).claim(ada, "k-old", { sessionId: fresh, fingerprint: "f", ttlMs: 1 });
  await Bun.sleep(5);

  const removed = await purge(db, { before: new Date(Date.now() - 30 * 86_400_000) });
  expect(removed.sessions).toBeGreaterThanOrEqual(1);
  expect(removed.runs).toBeGreaterThanOrEqual(1);
  expect(removed.keys).toBeGreaterThanOrEqual(1);
  expect(await store.find(ada, old)).toBeUndefined();
  expect(await store.history(old)).toEqual([]);
  expect(await store.find(ada, fresh)).toBeDefined();
  expect(await store.history(fresh)).toHaveLength(2);
  expect(
    await db
      .select()
      .from(runs)
      .where(and(eq(runs.owner, ada), eq(runs.id, oldRun))),
  ).toEqual([]);
});
