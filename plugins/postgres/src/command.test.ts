import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "@twelvefold/kernel";
import { fakeRuntime } from "@twelvefold/testing";
import postgresJs from "postgres";
import { requireService } from "../../../test/services.ts";
import { migrationStatus, postgres } from "../mod.ts";
import { freshDatabase, SHARED_URL, warmPglite } from "./testdata/servers.ts";

const migrations = fileURLToPath(new URL("./testdata/migrations", import.meta.url));
const plainApp = fileURLToPath(new URL("./testdata/plain-app.ts", import.meta.url));
const lockKey = "twelvefold:migrate:drizzle.__drizzle_migrations";

/** Runs `admin ...argv` in-process on a fake runtime; resolves with the exit code, stdout and log lines. */
async function admin(argv: string[], options: { env?: Record<string, string>; migrations?: string } = {}) {
  const fake = fakeRuntime({ ENVIRONMENT: "testing", LOG_FORMAT: "json", LOG_LEVEL: "info", ...options.env }, [
    "admin",
    ...argv,
  ]);
  const app = createApp({
    name: "pg-admin",
    plugins: [postgres({ migrations: "migrations" in options ? options.migrations : migrations })],
    runtime: fake.runtime,
  });
  void app.run();
  return { code: await fake.exited, ...fake };
}

/** A copy of the test migrations with one more file of this SQL. */
function withExtraMigration(sql: string): string {
  const folder = mkdtempSync(join(tmpdir(), "tf-migrations-"));
  cpSync(migrations, folder, { recursive: true });
  writeFileSync(join(folder, "0003_extra.sql"), sql);
  const path = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(path, "utf8"));
  journal.entries.push({ idx: 3, version: "7", when: 1896157910877, tag: "0003_extra", breakpoints: true });
  writeFileSync(path, JSON.stringify(journal));
  return folder;
}

beforeAll(warmPglite, 60_000);

describe("admin migrate on PGlite", () => {
  test("without a migrations folder it fails, saying how to give one", async () => {
    const r = await admin(["migrate"], { migrations: undefined });
    expect(r.code).toBe(1);
    const failed = r.logs().find((l) => l.message === "command failed");
    expect(JSON.stringify(failed)).toContain(
      "postgres: no migrations: the app gave the postgres plugin no folder: postgres({ migrations: new URL(...) })",
    );
  });

  test("bad arguments exit 2 with the usage", async () => {
    const r = await admin(["migrate", "--dry-run"]);
    expect(r.code).toBe(2);
    expect(r.stderr.join("\n")).toContain('admin: migrate: unknown option "--dry-run"');
    expect(r.stderr.join("\n")).toContain("usage: pg-admin admin migrate [--status]");
  });
});

const fresh = freshDatabase("admin");
const reachable = await requireService("PostgreSQL", SHARED_URL);
if (reachable) {
  beforeAll(() => fresh.create());
  afterAll(() => fresh.drop());
}

describe.if(reachable)("admin migrate on PostgreSQL", () => {
  const env = () => ({ DATABASE_URL: fresh.url, DATABASE_POOL_SIZE: "2" });
  const reset = async () => {
    const sql = postgresJs(fresh.url, { max: 1, onnotice: () => {} });
    await sql.unsafe("drop schema if exists drizzle cascade; drop schema public cascade; create schema public");
    await sql.end();
  };

  test("--status applies nothing (not even the start's migrations) and lists every file", async () => {
    await reset();
    const r = await admin(["migrate", "--status"], { env: { ...env(), DATABASE_MIGRATE_ON_START: "true" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual([
      "pending  0000_init.sql",
      "pending  0001_audit.sql",
      "pending  0002_seed_audit.sql",
      "0 applied, 3 pending",
    ]);
    const applied = await admin(["migrate"], { env: env() });
    expect(applied.code).toBe(0);
    expect(applied.stdout).toEqual([
      "applied  0000_init.sql",
      "applied  0001_audit.sql",
      "applied  0002_seed_audit.sql",
      "3 applied, 0 pending",
    ]);
    const again = await admin(["migrate"], { env: env() });
    expect(again.stdout).toEqual(["3 applied, 0 pending"]);
    // Log lines go to stderr: stdout holds only the command's output.
    expect(again.logs().some((l) => l.message === "migrations up to date")).toBe(true);
  });

  test("a failing file exits 1, naming it, and applies nothing", async () => {
    await reset();
    const folder = withExtraMigration('CREATE TABLE "later" ("id" integer);\n--> statement-breakpoint\nSELEC 1;\n');
    try {
      const r = await admin(["migrate"], { env: env(), migrations: folder });
      expect(r.code).toBe(1);
      const failed = r.logs().find((l) => l.message === "command failed");
      expect(JSON.stringify(failed)).toContain('postgres: migration \\"0003_extra.sql\\" failed');
      expect((await migrationStatus(fresh.url, { migrations: folder })).pending).toHaveLength(4);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test("SIGTERM during a migration: its connection is cut, it rolls back, the process exits 143", async () => {
    await reset();
    const folder = withExtraMigration(
      'CREATE TABLE "later" ("id" integer);\n--> statement-breakpoint\nSELECT pg_sleep(30);\n',
    );
    try {
      const fake = fakeRuntime({ ENVIRONMENT: "testing", LOG_FORMAT: "json", ...env() }, ["admin", "migrate"]);
      void createApp({ name: "pg-admin", plugins: [postgres({ migrations: folder })], runtime: fake.runtime }).run();
      const watcher = postgresJs(fresh.url, { max: 1 });
      try {
        // Wait until the migration sleeps inside its transaction.
        for (let i = 0; i < 200; i++) {
          const [row] =
            await watcher`select count(*)::int as n from pg_stat_activity where datname = current_database() and query like '%SELECT pg_sleep(30)%' and pid <> pg_backend_pid()`;
          if (row?.n) break;
          await Bun.sleep(25);
        }
        fake.signal("SIGTERM");
        expect(await fake.exited).toBe(143);
        const [later] = await watcher`select to_regclass('later')::text as t`;
        expect(later?.t).toBeNull();
        // The server ends the migration's session (pg_terminate_backend returns before the
        // backend is gone): soon nothing of it still runs, or holds its locks.
        let left = -1;
        for (let i = 0; i < 100 && left !== 0; i++) {
          const [row] =
            await watcher`select count(*)::int as n from pg_stat_activity where datname = current_database() and query like '%SELECT pg_sleep(30)%' and pid <> pg_backend_pid()`;
          left = row?.n ?? 0;
          if (left !== 0) await Bun.sleep(20);
        }
        expect(left).toBe(0);
      } finally {
        await watcher.end();
      }
      expect((await migrationStatus(fresh.url, { migrations: folder })).pending).toHaveLength(4);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 30_000);

  /** `bun plain-app.ts admin ...` as a real process. */
  const spawnAdmin = (...argv: string[]) =>
    Bun.spawn(["bun", plainApp, "admin", ...argv], {
      env: { PATH: process.env.PATH ?? "", ENVIRONMENT: "staging", LOG_FORMAT: "json", LOG_LEVEL: "info", ...env() },
      stdout: "pipe",
      stderr: "pipe",
    });

  test("four concurrent `admin migrate` processes: all exit 0, and each file applies once", async () => {
    await reset();
    const children = [1, 2, 3, 4].map(() => spawnAdmin("migrate"));
    const results = await Promise.all(
      children.map(async (child) => ({
        code: await child.exited,
        stdout: await new Response(child.stdout).text(),
      })),
    );
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const applied = results.flatMap((r) => r.stdout.split("\n").filter((l) => l.startsWith("applied  ")));
    expect(applied.sort()).toEqual([
      "applied  0000_init.sql",
      "applied  0001_audit.sql",
      "applied  0002_seed_audit.sql",
    ]);
    const check = postgresJs(fresh.url, { max: 1 });
    try {
      expect([...(await check`select count(*)::int as n from audit`)]).toEqual([{ n: 1 }]);
    } finally {
      await check.end();
    }
  }, 60_000);

  test("`admin migrate` stopped by SIGTERM while it waits for the lock exits 143 and applies nothing", async () => {
    await reset();
    const holder = postgresJs(fresh.url, { max: 1 });
    try {
      await holder`select pg_advisory_lock(hashtext(${lockKey}))`;
      const child = spawnAdmin("migrate");
      const decoder = new TextDecoder();
      let stderr = "";
      for await (const chunk of child.stderr) {
        stderr += decoder.decode(chunk, { stream: true });
        if (stderr.includes("waiting for the migration lock")) break;
      }
      child.kill("SIGTERM");
      expect(await child.exited).toBe(143);
      expect((await migrationStatus(fresh.url, { migrations })).pending).toHaveLength(3);
    } finally {
      await holder.end();
    }
  }, 30_000);
});
