import { beforeAll, expect, test } from "bun:test";
import type { Logger } from "@twelvefold/kernel";
import type { CronJobContext } from "@twelvefold/scheduler";
import { eq } from "drizzle-orm";
import { sessions, usageRollups } from "../db/schema.ts";
import { testDatabase } from "../db/testdata/database.ts";
import { bootAgent, subject } from "../testdata/app.ts";
import { AgentStore } from "../tokens.ts";
import { purgeJob, rollupJob } from "./cron.ts";

beforeAll(() => testDatabase(), 180_000);

test("the nightly purge and the hourly roll-up run on the scheduler's services and log what they did", async () => {
  await using t = await bootAgent({ env: { AGENT_RETENTION_DAYS: "7" }, process: "scheduler" });
  const store = t.get(AgentStore);
  const owner = subject("usage");
  const idle = (await store.sessions.create(owner, { max: 10 }))?.id as string;
  const active = (await store.sessions.create(owner, { max: 10 }))?.id as string;
  await store.sessions.save(
    active,
    {
      runId: crypto.randomUUID(),
      user: owner,
      input: [{ role: "user", content: "hi" }],
      messages: [{ role: "assistant", content: "hello" }],
      reply: "hello",
      usage: { input_tokens: 5, output_tokens: 2 },
      turns: [],
    },
    { model: "m", costUsd: 0.02 },
  );
  await store.db
    .update(sessions)
    .set({ updatedAt: new Date(Date.now() - 8 * 86_400_000) })
    .where(eq(sessions.id, idle));

  const lines: Array<[string, Record<string, unknown> | undefined]> = [];
  const logger: Logger = {
    debug() {},
    info: (message, fields) => void lines.push([message, fields]),
    warn() {},
    error() {},
    child: () => logger,
    enabled: () => true,
  };
  const context = (job: string): CronJobContext => ({
    job,
    scheduledAt: new Date(),
    trigger: "manual",
    signal: new AbortController().signal,
    logger,
    get: (token) => t.get(token),
    find: (token) => t.get(token),
  });
  await purgeJob.run(context(purgeJob.name));
  await rollupJob.run(context(rollupJob.name));

  expect(await store.sessions.find(owner, idle)).toBeUndefined();
  expect(await store.sessions.find(owner, active)).toBeDefined();
  const [rollup] = await store.db.select().from(usageRollups).where(eq(usageRollups.owner, owner));
  expect(rollup).toMatchObject({ runs: 1, inputTokens: 5, outputTokens: 2 });
  expect(lines.map(([message]) => message)).toEqual(["purged", "usage rolled up"]);
  expect(lines[0]?.[1]).toMatchObject({ retention_days: 7 });
});
