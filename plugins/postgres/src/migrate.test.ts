import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type TestApp, testApp } from "@twelvefold/testing";
import { sql } from "drizzle-orm";
import postgresJs from "postgres";
import { requireService } from "../../../test/services.ts";
import { Database, DatabaseError, formatMigrationStatus, migrate, migrationStatus, postgres } from "../mod.ts";
import { freshDatabase, SHARED_URL, warmPglite } from "./testdata/servers.ts";

const migrations = fileURLToPath(new URL("./testdata/migrations", import.meta.url));
const all = ["0000_init.sql", "0001_audit.sql", "0002_seed_audit.sql"];

/** A copy of the test migrations in a temp folder, to break or edit. */
function copyOfMigrations(): { folder: string; journal: { entries: Array<Record<string, unknown>> }; save(): void } {
  const folder = mkdtempSync(join(tmpdir(), "tf-migrations-"));
  cpSync(migrations, folder, { recursive: true });
  const path = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(path, "utf8"));
  return { folder, journal, save: () => writeFileSync(path, JSON.stringify(journal)) };
}

/** The test migrations plus a fourth whose second statement fails. */
function brokenMigrations(): string {
  const copy = copyOfMigrations();
  writeFileSync(
    join(copy.folder, "0003_broken.sql"),
    'CREATE TABLE "later" ("id" integer);\n--> statement-breakpoint\nSELECT * FROM "missing_table";\n',
  );
  copy.journal.entries.push({ idx: 3, version: "7", when: 1896157910877, tag: "0003_broken", breakpoints: true });
  copy.save();
  return copy.folder;
}

interface Target {
  readonly name: string;
  /** A started app with an empty database (no migrations applied). */
  app(): Promise<TestApp>;
  /** A URL for `migrate(url)`, on PostgreSQL only. */
  readonly url?: string;
}

beforeAll(warmPglite, 60_000);

const targets: Target[] = [
  {
    name: "PGlite",
    app: () => testApp({ plugins: [postgres()], env: { DATABASE_MIGRATE_ON_START: "false" } }),
  },
];
const fresh = freshDatabase("migrate");
if (await requireService("PostgreSQL", SHARED_URL)) {
  beforeAll(() => fresh.create());
  afterAll(() => fresh.drop());
  targets.push({
    name: "PostgreSQL",
    url: fresh.url,
    async app() {
      const t = await testApp({
        plugins: [postgres()],
        env: { DATABASE_URL: fresh.url, DATABASE_MIGRATE_ON_START: "false", DATABASE_POOL_SIZE: "2" },
      });
      // Each test starts from an empty database, as PGlite's shared instance does.
      await t
        .get(Database)
        .rows(sql`drop schema if exists drizzle cascade; drop schema public cascade; create schema public`);
      return t;
    },
  });
}

for (const target of targets) {
  describe(`migrate on ${target.name}`, () => {
    test("applies the pending files in order, once; a second run applies nothing", async () => {
      await using t = await target.app();
      const db = t.get(Database);
      const before = await migrationStatus(db, { migrations });
      expect(before.pending.map((m) => m.file)).toEqual(all);
      expect(formatMigrationStatus(before)).toBe(
        "pending  0000_init.sql\npending  0001_audit.sql\npending  0002_seed_audit.sql\n0 applied, 3 pending",
      );
      const first = await migrate(db, { migrations, logger: t.app.logger });
      expect(first.applied.map((m) => m.file)).toEqual(all);
      expect(first.status.pending).toEqual([]);
      const second = await migrate(db, { migrations });
      expect(second.applied).toEqual([]);
      expect(await db.rows(sql`select kind from audit`)).toEqual([{ kind: "seeded" }]);
      expect(formatMigrationStatus(second.status)).toBe(
        "applied  0000_init.sql\napplied  0001_audit.sql\napplied  0002_seed_audit.sql\n3 applied, 0 pending",
      );
      expect(t.logs.filter((l) => l.message === "migration applied").map((l) => l.file)).toEqual(all);
    });

    test("four concurrent runs wait for the lock: each file applies once and every run succeeds", async () => {
      await using t = await target.app();
      const db = t.get(Database);
      const runs = await Promise.all([1, 2, 3, 4].map(() => migrate(db, { migrations })));
      expect(runs.flatMap((r) => r.applied.map((m) => m.file)).sort()).toEqual(all);
      expect(await db.rows(sql`select count(*)::int as n from audit`)).toEqual([{ n: 1 }]);
      expect(await db.rows(sql`select count(*)::int as n from drizzle.__drizzle_migrations`)).toEqual([{ n: 3 }]);
    });

    test("a failing file rolls the run back and the error names it", async () => {
      await using t = await target.app();
      const db = t.get(Database);
      const folder = brokenMigrations();
      try {
        const error = await migrate(db, { migrations: folder }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DatabaseError);
        expect((error as DatabaseError).code).toBe("TF_POSTGRES_MIGRATION");
        expect((error as DatabaseError).file).toBe("0003_broken.sql");
        expect((error as DatabaseError).message).toBe(
          'postgres: migration "0003_broken.sql" failed: query failed: relation "missing_table" does not exist (SQLSTATE 42P01); rolled back, none of the 4 pending migration(s) applied',
        );
        // One transaction: the good files before it were rolled back too, and the lock is free again.
        const status = await migrationStatus(db, { migrations: folder });
        expect(status.pending.map((m) => m.file)).toEqual([...all, "0003_broken.sql"]);
        expect(await db.rows(sql`select to_regclass('later')::text as t`)).toEqual([{ t: null }]);
        await migrate(db, { migrations });
        const after = await migrate(db, { migrations: folder }).catch((e: unknown) => e);
        expect((after as DatabaseError).message).toContain("none of the 1 pending migration(s) applied");
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });

    test("the status shows applied files edited since, and files drizzle would skip", async () => {
      await using t = await target.app();
      const db = t.get(Database);
      const copy = copyOfMigrations();
      try {
        await migrate(db, { migrations: copy.folder });
        writeFileSync(join(copy.folder, "0001_audit.sql"), 'CREATE TABLE "audit" ("id" serial);');
        writeFileSync(join(copy.folder, "0000_late.sql"), "SELECT 1;");
        copy.journal.entries.splice(1, 0, { idx: 9, version: "7", when: 1000, tag: "0000_late", breakpoints: true });
        copy.save();
        const status = await migrationStatus(db, { migrations: copy.folder });
        expect(status.changed.map((m) => m.file)).toEqual(["0001_audit.sql"]);
        expect(status.skipped.map((m) => m.file)).toEqual(["0000_late.sql"]);
        expect(formatMigrationStatus(status).split("\n")).toEqual([
          "skipped  0000_late.sql",
          "applied  0000_init.sql",
          "changed  0001_audit.sql",
          "applied  0002_seed_audit.sql",
          "3 applied, 0 pending",
        ]);
      } finally {
        rmSync(copy.folder, { recursive: true, force: true });
      }
    });
  });
}

describe("migrate", () => {
  test("a folder without drizzle-kit's journal is a clear error, and so is a journal naming a missing file", async () => {
    const empty = mkdtempSync(join(tmpdir(), "tf-migrations-"));
    const copy = copyOfMigrations();
    try {
      const error = await migrate("postgres://127.0.0.1:1/x", { migrations: empty }).catch((e: unknown) => e);
      expect((error as DatabaseError).code).toBe("TF_POSTGRES_MIGRATIONS_MISSING");
      expect((error as DatabaseError).message).toBe(
        `postgres: no migrations in ${JSON.stringify(empty)}: cannot read meta/_journal.json (run drizzle-kit generate)`,
      );
      rmSync(join(copy.folder, "0001_audit.sql"));
      const missing = await migrationStatus("postgres://127.0.0.1:1/x", { migrations: copy.folder }).catch(
        (e: unknown) => e,
      );
      expect((missing as DatabaseError).message).toContain('lists "0001_audit.sql", which cannot be read');
    } finally {
      rmSync(empty, { recursive: true, force: true });
      rmSync(copy.folder, { recursive: true, force: true });
    }
  });

  test("no formatted status for an empty journal says so", () => {
    expect(formatMigrationStatus({ applied: [], pending: [], changed: [], skipped: [] })).toBe("no migrations");
  });
});

describe.if(targets.length > 1)("migrate by URL on PostgreSQL", () => {
  const reset = async () => {
    const sql = postgresJs(fresh.url, { max: 1, onnotice: () => {} });
    await sql.unsafe("drop schema if exists drizzle cascade; drop schema public cascade; create schema public");
    await sql.end();
  };

  test("migrate(url) and migrationStatus(url) run on a connection of their own", async () => {
    await reset();
    const { applied } = await migrate(fresh.url, { migrations });
    expect(applied.map((m) => m.file)).toEqual(all);
    expect((await migrationStatus(fresh.url, { migrations })).applied.map((m) => m.file)).toEqual(all);
  });

  test("four concurrent migrate processes: all exit 0 and each file applies once", async () => {
    await reset();
    const script = fileURLToPath(new URL("./testdata/migrate-process.ts", import.meta.url));
    const children = [1, 2, 3, 4].map(() =>
      Bun.spawn(["bun", script, fresh.url], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } }),
    );
    const results = await Promise.all(
      children.map(async (child) => ({
        code: await child.exited,
        stdout: await new Response(child.stdout).text(),
        stderr: await new Response(child.stderr).text(),
      })),
    );
    expect(results.map((r) => ({ code: r.code, stderr: r.stderr }))).toEqual(
      [1, 2, 3, 4].map(() => ({ code: 0, stderr: "" })),
    );
    const applied = results.flatMap((r) => (JSON.parse(r.stdout) as { applied: string[] }).applied);
    expect(applied.sort()).toEqual(all);
    const check = postgresJs(fresh.url, { max: 1 });
    try {
      expect([...(await check`select count(*)::int as n from audit`)]).toEqual([{ n: 1 }]);
    } finally {
      await check.end();
    }
  }, 30_000);

  test("a run waiting for the lock gives up when its signal aborts, and logs that it waits", async () => {
    await reset();
    const holder = postgresJs(fresh.url, { max: 1 });
    const lines: string[] = [];
    const logger = {
      debug() {},
      info: (message: string) => lines.push(message),
      warn() {},
      error() {},
      child: () => logger,
      enabled: () => true,
    };
    try {
      await holder`select pg_advisory_lock(hashtext('twelvefold:migrate:drizzle.__drizzle_migrations'))`;
      const error = await migrate(fresh.url, { migrations, logger, signal: AbortSignal.timeout(300) }).catch(
        (e: unknown) => e,
      );
      expect((error as Error).name).toBe("TimeoutError");
      expect(lines).toContain("waiting for the migration lock: another migrate is running");
      expect((await migrationStatus(fresh.url, { migrations })).pending).toHaveLength(3);
    } finally {
      await holder.end();
    }
  });
});
