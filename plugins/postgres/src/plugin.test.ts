import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ConfigError, embeddedInfo, KernelError } from "@twelvefold/kernel";
import { pluginContract, testApp } from "@twelvefold/testing";
import { sql } from "drizzle-orm";
import { requireService } from "../../../test/services.ts";
import { Database, DatabaseError, databaseError, postgres } from "../mod.ts";
import * as schema from "./testdata/schema.ts";
import { freshDatabase, SHARED_URL, warmPglite } from "./testdata/servers.ts";

const migrations = new URL("./testdata/migrations", import.meta.url);

// ENVIRONMENT=testing, no DATABASE_URL: the shared in-memory PGlite of this test process.
beforeAll(warmPglite, 60_000);
pluginContract(() => postgres({ schema, migrations }), {
  badEnv: { DATABASE_POOL_SIZE: "zero", DATABASE_URL: "mysql://db:3306/app" },
});

const reachable = await requireService("PostgreSQL", SHARED_URL);
const fresh = freshDatabase("plugin");
if (reachable) {
  beforeAll(() => fresh.create());
  afterAll(() => fresh.drop());
  pluginContract(() => postgres({ schema, migrations }), {
    env: { DATABASE_URL: fresh.url, DATABASE_POOL_SIZE: "2" },
    badEnv: { DATABASE_URL: `${fresh.url}?sslmode=requier` },
  });
}

async function startError(env: Record<string, string>): Promise<unknown> {
  const t = await testApp({ plugins: [postgres({ schema, migrations })], env, start: false });
  try {
    await t.start();
  } catch (error) {
    return error;
  } finally {
    await t.stop();
  }
  throw new Error("expected the start to fail");
}

describe("postgres plugin", () => {
  test("the production profile refuses PGlite: a missing DATABASE_URL is a config error naming it", async () => {
    const error = await startError({ ENVIRONMENT: "production" });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toContainEqual(
      expect.objectContaining({
        name: "DATABASE_URL",
        plugin: "postgres",
        expected: "a postgres:// URL: production refuses the embedded PGlite",
        source: "not set",
      }),
    );
  });

  test("PGlite is marked as an embedded default that loses data, as the memory queue is", async () => {
    await using t = await testApp({ plugins: [postgres()] });
    const db = t.get(Database);
    expect(db.driver).toBe("pglite");
    expect(embeddedInfo(db)).toEqual({ name: "embedded PGlite Database", losesData: true });
  });

  test("outside the testing profile an in-memory PGlite closes with its app, and the next app starts empty", async () => {
    const env = { ENVIRONMENT: "development", LOG_FORMAT: "json", PGLITE_DATA_DIR: "memory://" };
    const first = await testApp({ plugins: [postgres({ schema, migrations })], env });
    const db = first.get(Database);
    await db.drizzle.insert(schema.users).values({ email: "gone@example.com", name: "Gone" });
    const client = db.drizzle.$client as { closed?: boolean };
    await first.stop();
    expect(client.closed).toBe(true);
    await using second = await testApp({ plugins: [postgres({ schema, migrations })], env });
    expect(await second.get(Database).drizzle.select().from(schema.users)).toEqual([]);
  }, 30_000);

  test("testing apps alive at once share the PGlite; once the last stops, the next app starts empty", async () => {
    const first = await testApp({ plugins: [postgres({ schema, migrations })] });
    await first.get(Database).drizzle.insert(schema.users).values({ email: "old@example.com", name: "Old" });
    const stopping = first.stop();
    const second = await testApp({ plugins: [postgres({ schema, migrations })] });
    await stopping;
    expect(await second.get(Database).drizzle.select({ name: schema.users.name }).from(schema.users)).toEqual([
      { name: "Old" },
    ]);
    await second.stop();
    await using third = await testApp({ plugins: [postgres({ schema, migrations })] });
    expect(await third.get(Database).drizzle.select().from(schema.users)).toEqual([]);
  });

  test("the typed token is the Database token itself", () => {
    const plugin = postgres({ schema, migrations });
    expect(plugin.Database as unknown).toBe(Database);
    expect(plugin.migrations).toBe(migrations);
    expect(plugin.provides).toEqual([Database]);
  });

  test("without DATABASE_MIGRATE_ON_START nothing is applied at start", async () => {
    await using t = await testApp({
      plugins: [postgres({ schema, migrations })],
      env: { DATABASE_MIGRATE_ON_START: "false" },
    });
    const [found] = await t.get(Database).rows<{ t: string | null }>(sql`select to_regclass('users')::text as t`);
    expect(found?.t).toBeNull();
  });

  test("a server that refuses connections fails the start, naming host and port and never the password", async () => {
    const url = "postgres://app:s3cr3t-pw@127.0.0.1:1/app";
    const error = await startError({ DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT_MS: "2000" });
    expect(error).toBeInstanceOf(KernelError);
    expect((error as Error).message).toBe(
      'postgres: start failed: cannot connect to "127.0.0.1:1": connection refused',
    );
    expect(databaseError(error)?.retryable).toBe(true);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain("s3cr3t-pw");
  }, 15_000);

  test("an unknown host fails the start with its name, never the password", async () => {
    const url = "postgres://app:s3cr3t-pw@no-such-host.invalid:5432/app";
    const error = await startError({ DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT_MS: "3000" });
    expect((error as Error).message).toMatch(
      /^postgres: start failed: cannot connect to "no-such-host.invalid:5432": /,
    );
    expect(databaseError(error)?.code).toBe("TF_POSTGRES_CONNECTION");
    expect((error as Error).message).not.toContain("s3cr3t-pw");
  }, 15_000);
});

describe.if(reachable)("postgres plugin on PostgreSQL", () => {
  test("stop lets a running query finish before the pool ends", async () => {
    const t = await testApp({ plugins: [postgres()], env: { DATABASE_URL: fresh.url, SHUTDOWN_TIMEOUT_MS: "10000" } });
    const db = t.get(Database);
    const running = db.rows<{ done: string }>(sql`select pg_sleep(0.3)::text as done`);
    await Bun.sleep(50);
    await t.stop();
    expect(await running).toEqual([{ done: "" }]);
    const after = await db.rows(sql`select 1`).catch((e: unknown) => e);
    expect(after).toBeInstanceOf(DatabaseError);
    expect((after as DatabaseError).code).toBe("TF_POSTGRES_CLOSED");
  });

  test("stop ends a query still running after SHUTDOWN_TIMEOUT_MS, and does not wait for it", async () => {
    const t = await testApp({ plugins: [postgres()], env: { DATABASE_URL: fresh.url, SHUTDOWN_TIMEOUT_MS: "200" } });
    const db = t.get(Database);
    const running = db.rows(sql`select pg_sleep(30)`).catch((e: unknown) => e);
    await Bun.sleep(50);
    await t.stop();
    const error = await running;
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).retryable).toBe(false);
    expect(t.logs.filter((l) => l.level === "error")).toEqual([]);
  });
});
