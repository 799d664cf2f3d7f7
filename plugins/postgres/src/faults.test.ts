import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { testApp } from "@twelvefold/testing";
import { sql } from "drizzle-orm";
import postgresJs from "postgres";
import { Database, DatabaseError, databaseError, postgres } from "../mod.ts";
import { type OwnServer, ownServer } from "./testdata/servers.ts";

const plainApp = fileURLToPath(new URL("./testdata/plain-app.ts", import.meta.url));

/** Runs the plain app as a process with this environment; resolves with its exit code and output. */
async function runApp(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const child = Bun.spawn(["bun", plainApp], {
    env: { PATH: process.env.PATH ?? "", LOG_FORMAT: "json", LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    const [code, stdout, stderr] = await Promise.all([
      child.exited,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    return { code, output: stdout + stderr };
  } finally {
    clearTimeout(timer);
  }
}

describe("PostgreSQL unreachable or misconfigured at start", () => {
  test("a refused port: exit 1, the log names host and port, never the password", async () => {
    const { code, output } = await runApp({
      ENVIRONMENT: "staging",
      DATABASE_URL: "postgres://app:hunter2-secret@127.0.0.1:1/app",
    });
    expect(code).toBe(1);
    expect(output).toContain('postgres: start failed: cannot connect to \\"127.0.0.1:1\\": connection refused');
    expect(output).not.toContain("hunter2-secret");
  }, 30_000);

  test("production without DATABASE_URL refuses PGlite: exit 78, before anything opens", async () => {
    const { code, output } = await runApp({ ENVIRONMENT: "production" });
    expect(code).toBe(78);
    expect(output).toContain(
      "DATABASE_URL (postgres): expected a postgres:// URL: production refuses the embedded PGlite",
    );
    expect(output).not.toContain("pglite opened");
  }, 30_000);
});

describe("faults against a PostgreSQL server of the test's own", () => {
  let server: OwnServer;
  beforeAll(async () => {
    server = await ownServer({ tls: true });
    await server.start();
  }, 60_000);
  afterAll(() => server?.remove());

  test("TLS follows the URL's sslmode: require encrypts, no sslmode does not, verify-full refuses a self-signed certificate", async () => {
    const tls = async (query: string) => {
      await using t = await testApp({ plugins: [postgres()], env: { DATABASE_URL: `${server.url}${query}` } });
      const [row] = await t
        .get(Database)
        .rows<{ ssl: boolean }>(sql`select ssl from pg_stat_ssl where pid = pg_backend_pid()`);
      return row?.ssl;
    };
    expect(await tls("?sslmode=require")).toBe(true);
    expect(await tls("")).toBe(false);
    expect(await tls("?sslmode=disable")).toBe(false);
    const t = await testApp({
      plugins: [postgres()],
      env: { DATABASE_URL: `${server.url}?sslmode=verify-full` },
      start: false,
    });
    const error = await t.start().catch((e: unknown) => e);
    await t.stop();
    expect((error as Error).message).toMatch(
      new RegExp(
        `^postgres: start failed: cannot connect to "127\\.0\\.0\\.1:${server.port}": TLS failed \\(sslmode\\): .*self.signed`,
      ),
    );
    expect(databaseError(error)?.retryable).toBe(false);
  }, 30_000);

  test("a wrong password fails the start with the server's reason, and no password anywhere", async () => {
    const wrong = server.url.replace(server.password, "wrong-pass-7731");
    const t = await testApp({ plugins: [postgres()], env: { DATABASE_URL: wrong }, start: false });
    const error = await t.start().catch((e: unknown) => e);
    await t.stop();
    expect((error as Error).message).toBe(
      `postgres: start failed: cannot connect to "127.0.0.1:${server.port}": password authentication failed for user "postgres"`,
    );
    expect(databaseError(error)?.code).toBe("TF_POSTGRES_AUTH");
    expect(databaseError(error)?.retryable).toBe(false);
    const everything = JSON.stringify([t.logs, String(error), (error as Error).stack]);
    expect(everything).not.toContain("wrong-pass-7731");
    expect(everything).not.toContain(server.password);
  });

  test("connection lost mid-run: queries fail retryably, health goes down, the app recovers without a restart", async () => {
    const name = `faults-${crypto.randomUUID().slice(0, 8)}`;
    await using t = await testApp({
      name,
      plugins: [postgres()],
      env: { DATABASE_URL: server.url, DATABASE_POOL_SIZE: "2", DATABASE_CONNECT_TIMEOUT_MS: "2000" },
    });
    const db = t.get(Database);
    expect((await db.health()).status).toBe("up");

    // The backends of this app only (application_name is the app's name), killed mid-query.
    const running = db.rows(sql`select pg_sleep(30)`).catch((e: unknown) => e);
    await Bun.sleep(200);
    const admin = postgresJs(server.url, { max: 1, onnotice: () => {} });
    try {
      const killed = await admin`
        select pg_terminate_backend(pid) as ok from pg_stat_activity
        where application_name = ${name} and pid <> pg_backend_pid()`;
      expect(killed.length).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    const lost = await running;
    expect(lost).toBeInstanceOf(DatabaseError);
    expect((lost as DatabaseError).code).toBe("TF_POSTGRES_CONNECTION");
    expect((lost as DatabaseError).retryable).toBe(true);
    // The pool opens a new connection for the next query.
    expect(await db.rows(sql`select 1 as ok`)).toEqual([{ ok: 1 }]);

    // The server goes away: health is down, naming it; queries fail, retryably.
    await server.stop();
    const down = await db.health();
    expect(down.status).toBe("down");
    expect(down.detail).toContain(`"127.0.0.1:${server.port}"`);
    expect((await t.app.lifecycle.health()).checks.postgres?.status).toBe("down");
    const failed = await db.rows(sql`select 1`).catch((e: unknown) => e);
    expect(databaseError(failed)?.retryable).toBe(true);
    expect(JSON.stringify(down)).not.toContain(server.password);

    // It comes back: the same app answers again.
    await server.start();
    expect((await db.health()).status).toBe("up");
    expect(await db.rows(sql`select 2 as ok`)).toEqual([{ ok: 2 }]);
  }, 60_000);
});
