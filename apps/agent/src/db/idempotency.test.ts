import { beforeAll, expect, test } from "bun:test";
import { IdempotencyKeys } from "./idempotency.ts";
import { Sessions } from "./sessions.ts";
import { owner, testDatabase } from "./testdata/database.ts";

// The first start of the shared PGlite runs initdb (seconds on a busy machine), once per test process.
beforeAll(() => testDatabase(), 180_000);

test("one request claims a key, racing ones read its record, and an expired or released key is claimed again", async () => {
  const db = await testDatabase();
  const keys = new IdempotencyKeys(db);
  const ada = owner("ada");
  const sessionId = (await new Sessions(db).create(ada, { max: 10 }))?.id as string;
  const request = { sessionId, fingerprint: "f-1", ttlMs: 60_000 };

  const claims = await Promise.all(Array.from({ length: 5 }, () => keys.claim(ada, "k-1", request)));
  expect(claims.filter((c) => c.claimed)).toHaveLength(1);
  const runId = crypto.randomUUID();
  await keys.started(ada, "k-1", runId);
  await keys.answered(ada, "k-1", { response: "42" });
  const again = await keys.claim(ada, "k-1", request);
  expect(again).toMatchObject({ claimed: false, record: { runId, fingerprint: "f-1", response: { response: "42" } } });
  expect((await keys.claim(owner("bob"), "k-1", request)).claimed).toBe(true);

  await keys.claim(ada, "k-2", { ...request, ttlMs: 1 });
  await Bun.sleep(5);
  expect((await keys.claim(ada, "k-2", request)).claimed).toBe(true);
  await keys.release(ada, "k-2");
  expect(await keys.find(ada, "k-2")).toBeUndefined();
});
