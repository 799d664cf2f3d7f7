/**
 * The seed's flows against real processes of the app: once on embedded defaults (`dev`: web,
 * worker and scheduler in one process, PGlite in a folder of its own, the memory adapters), and
 * once on PostgreSQL (a fresh database, dropped afterwards) and Redis (a key prefix of its own,
 * deleted afterwards) with two web processes, a worker and a scheduler, each its own process.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuth } from "@twelvefold/http";
import { SQL } from "bun";
import { requireService } from "../../../test/services.ts";
import { DEVELOPMENT_SECRET_KEY } from "../src/config.ts";
import { chatFlows } from "../src/testdata/flow.ts";
import { type AgentProcess, startProcess } from "../src/testdata/process.ts";

describe("end to end on embedded defaults: one dev process", () => {
  const scratch = mkdtempSync(join(tmpdir(), "agent-e2e-"));
  let dev: AgentProcess;

  beforeAll(async () => {
    // A first start in an empty PGlite folder: seconds, and far more on a machine busy with other work.
    dev = await startProcess("dev", { PGLITE_DATA_DIR: join(scratch, "pglite") });
  }, 180_000);

  afterAll(async () => {
    const code = await dev?.stop();
    rmSync(scratch, { recursive: true, force: true });
    expect(code).toBe(0);
  }, 60_000);

  test("sessions, messages, history, streaming, tools, the other user's 404, the idempotent retry, the title", async () => {
    const auth = createAuth({ secretKey: DEVELOPMENT_SECRET_KEY, expireMinutes: 10 });
    await chatFlows({ web: dev.url, other: dev.url, token: (sub) => auth.sign(sub) }, crypto.randomUUID().slice(0, 8));
  }, 120_000);
});

const PG = "postgres://postgres@127.0.0.1:5432/test";
const REDIS = "redis://127.0.0.1:6379";
const scaled = (await requireService("PostgreSQL", PG)) && (await requireService("Redis", REDIS));

/** Runs `main.ts admin ...` to its end. */
async function admin(args: string[], env: Record<string, string>) {
  const child = Bun.spawn(["bun", new URL("../src/main.ts", import.meta.url).pathname, "admin", ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_FORMAT: "json", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

describe.if(scaled)("end to end on PostgreSQL and Redis: two web processes, a worker and a scheduler", () => {
  const run = crypto.randomUUID().replaceAll("-", "").slice(0, 10);
  const dbName = `tf_agent_e2e_${run}`;
  const prefix = `tf-agent-e2e-${run}:`;
  const secret = `e2e-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const env: Record<string, string> = {
    ENVIRONMENT: "staging",
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`,
    REDIS_URL: REDIS,
    REDIS_KEY_PREFIX: prefix,
    SECRET_KEY: secret,
    LLM_PROVIDER: "local",
    AGENT_MESSAGES_PER_MINUTE: "8",
    LOG_LEVEL: "info",
  };
  const processes: AgentProcess[] = [];
  let admin_: SQL;

  beforeAll(async () => {
    admin_ = new SQL(PG);
    await admin_.unsafe(`create database "${dbName}"`);
    const migrated = await admin(["migrate"], env);
    expect(migrated.stdout + migrated.stderr).toContain("0000_init");
    expect(migrated.code).toBe(0);
    for (const type of ["web", "web", "worker", "scheduler"] as const) processes.push(await startProcess(type, env));
  }, 180_000);

  afterAll(async () => {
    const codes = await Promise.all(processes.map((p) => p.stop()));
    await admin_.unsafe(`drop database if exists "${dbName}" with (force)`);
    await admin_.close();
    const keys = Bun.spawnSync(["redis-cli", "-u", REDIS, "--scan", "--pattern", `${prefix}*`])
      .stdout.toString()
      .split("\n");
    const list = keys.filter(Boolean);
    if (list.length > 0) Bun.spawnSync(["redis-cli", "-u", REDIS, "del", ...list]);
    expect(codes).toEqual([0, 0, 0, 0]);
  }, 120_000);

  test("a message posted to one web process is read from the other, with every flow of the seed", async () => {
    const [web, other] = processes as [AgentProcess, AgentProcess];
    const auth = createAuth({ secretKey: secret, expireMinutes: 10 });
    await chatFlows({ web: web.url, other: other.url, token: (sub) => auth.sign(sub) }, run);
  }, 180_000);

  test("both web processes count one rate limit per user, in Redis", async () => {
    const [web, other] = processes as [AgentProcess, AgentProcess];
    const token = await createAuth({ secretKey: secret, expireMinutes: 10 }).sign(`carol-${run}`);
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const { session_id } = (await (await fetch(`${web.url}/chat/sessions`, { method: "POST", headers })).json()) as {
      session_id: string;
    };
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const url = `${i % 2 === 0 ? web.url : other.url}/chat/sessions/${session_id}/messages`;
      const response = await fetch(url, { method: "POST", headers, body: JSON.stringify({ text: `hello ${i}` }) });
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    // Eight per minute across both: each process alone would have let all nine through.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429]);
  }, 120_000);

  test("the scheduler holds its schedule, and its roll-up runs as a one-off admin process too", async () => {
    const scheduler = processes[3] as AgentProcess;
    expect((await fetch(`${scheduler.url}/readyz`)).status).toBe(200);
    const rolled = await admin(["run-job", "usage-rollup"], env);
    const failed = rolled.stderr
      .split("\n")
      .find((line) => line.includes('"level":"error"'))
      ?.match(/"message":"postgres: [^"]*"/)?.[0];
    expect({ code: rolled.code, failed }).toEqual({ code: 0, failed: undefined });
    const db = new SQL(env.DATABASE_URL as string);
    try {
      const rows = await db`select owner, runs from usage_rollups where owner = ${`alice-${run}`}`;
      expect(rows[0]?.runs).toBeGreaterThanOrEqual(5);
    } finally {
      await db.close();
    }
  }, 60_000);
});
