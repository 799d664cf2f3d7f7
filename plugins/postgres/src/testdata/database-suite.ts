/**
 * The Database suite: what an app relies on from the Database, run against real PostgreSQL
 * (postgres-js.test.ts) and PGlite (pglite.test.ts) alike. One app per file: tables are emptied
 * between cases, never a new database or PGlite instance per case.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { Meter, override, Tracer } from "@twelvefold/kernel";
import { type TestApp, testApp } from "@twelvefold/testing";
import { eq, sql } from "drizzle-orm";
import { type Database, DatabaseError, databaseError, postgres } from "../../mod.ts";
import { QUERY_DURATION } from "../instrument.ts";
import * as schema from "./schema.ts";
import { type RecordingMeter, recordedSpans, recordingMeter, recordingTracer } from "./telemetry.ts";

export const migrations = new URL("./migrations", import.meta.url);

/** Optional behaviour: real concurrent sessions and a server-side statement timeout (PostgreSQL, not PGlite). */
export type Capability = "sessions" | "statementTimeout";

export interface SuiteSetup {
  /** The app's environment (DATABASE_URL or not). */
  env(): Record<string, string>;
  readonly capabilities: readonly Capability[];
  readonly driver: "postgres" | "pglite";
}

async function caught(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

export function databaseSuite(name: string, setup: SuiteSetup): void {
  const tracer = recordingTracer();
  let meter: RecordingMeter = recordingMeter();
  let t: TestApp;
  let db: Database<typeof schema>;
  const database = postgres({ schema, migrations });
  const has = (capability: Capability) => setup.capabilities.includes(capability);

  describe(`Database suite: ${name}`, () => {
    beforeAll(async () => {
      meter = recordingMeter();
      t = await testApp({
        plugins: [database],
        env: { DATABASE_STATEMENT_TIMEOUT_MS: "500", ...setup.env() },
        overrides: [override(Tracer, tracer), override(Meter, meter as Meter)],
      });
      db = t.get(database.Database);
    }, 60_000);

    afterAll(() => t?.stop());

    beforeEach(async () => {
      await db.rows(sql`truncate notes, users restart identity cascade`);
      tracer.spans.length = 0;
      meter.observations.length = 0;
    });

    test("runs on the expected driver, migrations applied at start", async () => {
      expect(db.driver).toBe(setup.driver);
      const [audit] = await db.rows<{ n: number }>(sql`select count(*)::int as n from audit`);
      expect(audit?.n).toBe(1);
    });

    test("writes and reads rows through drizzle, relations included", async () => {
      const [ada] = await db.drizzle.insert(schema.users).values({ email: "ada@example.com", name: "Ada" }).returning();
      await db.drizzle.insert(schema.notes).values([
        { userId: ada!.id, body: "first" },
        { userId: ada!.id, body: "second" },
      ]);
      const users = await db.drizzle.query.users.findMany({ with: { notes: { orderBy: (n, { asc }) => asc(n.id) } } });
      expect(users).toHaveLength(1);
      expect(users[0]?.notes.map((n) => n.body)).toEqual(["first", "second"]);
      expect(users[0]?.notes[0]?.createdAt).toBeDefined();
    });

    test("stores jsonb as an object, not a JSON string, and reads it back as written", async () => {
      const [u] = await db.drizzle.insert(schema.users).values({ email: "j@example.com", name: "J" }).returning();
      const data = { tool: "search", args: { q: "twelve factors", limit: 3 }, tags: ["a", "b"], ok: true, n: null };
      await db.drizzle.insert(schema.notes).values({ userId: u!.id, body: "json", data });
      const [stored] = await db.rows<{ kind: string; q: string }>(
        sql`select jsonb_typeof(data) as kind, data->'args'->>'q' as q from notes`,
      );
      expect(stored).toEqual({ kind: "object", q: "twelve factors" });
      const [note] = await db.drizzle.select().from(schema.notes);
      expect(note?.data).toEqual(data);
    });

    test("a prepared query runs again with new placeholder values", async () => {
      await db.drizzle.insert(schema.users).values([
        { email: "a@example.com", name: "A" },
        { email: "b@example.com", name: "B" },
      ]);
      const byEmail = db.drizzle
        .select({ name: schema.users.name })
        .from(schema.users)
        .where(eq(schema.users.email, sql.placeholder("email")))
        .prepare("user_by_email");
      expect(await byEmail.execute({ email: "a@example.com" })).toEqual([{ name: "A" }]);
      expect(await byEmail.execute({ email: "b@example.com" })).toEqual([{ name: "B" }]);
      expect(await byEmail.execute({ email: "nobody@example.com" })).toEqual([]);
    });

    test("a unique violation names the constraint, keeps the values out, and is not retryable", async () => {
      await db.drizzle.insert(schema.users).values({ email: "dup@example.com", name: "First" });
      const error = await caught(db.drizzle.insert(schema.users).values({ email: "dup@example.com", name: "Second" }));
      const mapped = databaseError(error);
      expect(mapped).toBeInstanceOf(DatabaseError);
      expect(mapped?.code).toBe("TF_POSTGRES_UNIQUE_VIOLATION");
      expect(mapped?.constraint).toBe("users_email_unique");
      expect(mapped?.sqlState).toBe("23505");
      expect(mapped?.retryable).toBe(false);
      expect(mapped?.message).toBe('postgres: unique violation on "users_email_unique"');
      // Nothing was written by the failed insert.
      expect(await db.drizzle.select({ name: schema.users.name }).from(schema.users)).toEqual([{ name: "First" }]);
    });

    test("a foreign-key violation is its own code", async () => {
      const error = await caught(db.drizzle.insert(schema.notes).values({ userId: 999, body: "orphan" }));
      expect(databaseError(error)?.code).toBe("TF_POSTGRES_FOREIGN_KEY_VIOLATION");
      expect(databaseError(error)?.constraint).toBe("notes_user_id_users_id_fk");
    });

    test("a transaction commits what fn did, and rolls it all back when fn throws", async () => {
      const id = await db.transaction(async (tx) => {
        const [u] = await tx.insert(schema.users).values({ email: "tx@example.com", name: "Tx" }).returning();
        await tx.insert(schema.notes).values({ userId: u!.id, body: "in tx" });
        return u!.id;
      });
      expect(await db.drizzle.select().from(schema.notes).where(eq(schema.notes.userId, id))).toHaveLength(1);

      const mine = new Error("the handler changed its mind");
      const error = await caught(
        db.transaction(async (tx) => {
          await tx.insert(schema.users).values({ email: "gone@example.com", name: "Gone" });
          throw mine;
        }),
      );
      expect(error).toBe(mine);
      const gone = await db.drizzle.select().from(schema.users).where(eq(schema.users.email, "gone@example.com"));
      expect(gone).toEqual([]);
    });

    test("a nested transaction (savepoint) rolls back alone", async () => {
      await db.transaction(async (tx) => {
        await tx.insert(schema.users).values({ email: "outer@example.com", name: "Outer" });
        await caught(
          tx.transaction(async (inner) => {
            await inner.insert(schema.users).values({ email: "inner@example.com", name: "Inner" });
            throw new Error("inner fails");
          }),
        );
      });
      const names = await db.drizzle.select({ name: schema.users.name }).from(schema.users);
      expect(names).toEqual([{ name: "Outer" }]);
    });

    test("transaction(fn, { retries }) runs fn again after a serialization failure or a deadlock", async () => {
      for (const errcode of ["serialization_failure", "deadlock_detected"]) {
        let attempts = 0;
        const result = await db.transaction(
          async (tx) => {
            attempts++;
            await tx.insert(schema.users).values({ email: `${errcode}-${attempts}@example.com`, name: "R" });
            if (attempts < 3) {
              await tx.execute(sql.raw(`do $$ begin raise exception 'conflict' using errcode = '${errcode}'; end $$`));
            }
            return attempts;
          },
          { retries: 3, backoffMs: 1 },
        );
        expect(result).toBe(3);
      }
      // Only the last attempt of each committed.
      const emails = await db.drizzle.select({ email: schema.users.email }).from(schema.users);
      expect(emails.map((e) => e.email).sort()).toEqual([
        "deadlock_detected-3@example.com",
        "serialization_failure-3@example.com",
      ]);
    });

    test("past its retries a serialization failure comes out as a retryable DatabaseError", async () => {
      let attempts = 0;
      const error = await caught(
        db.transaction(
          async (tx) => {
            attempts++;
            await tx.execute(
              sql`do $$ begin raise exception 'conflict' using errcode = 'serialization_failure'; end $$`,
            );
          },
          { retries: 1, backoffMs: 1 },
        ),
      );
      expect(attempts).toBe(2);
      expect(error).toBeInstanceOf(DatabaseError);
      expect((error as DatabaseError).code).toBe("TF_POSTGRES_SERIALIZATION_FAILURE");
      expect((error as DatabaseError).retryable).toBe(true);
    });

    test("other query errors are TF_POSTGRES_QUERY with the server's message and SQLSTATE", async () => {
      const error = await caught(db.rows(sql`select * from no_such_table`));
      expect(error).toBeInstanceOf(DatabaseError);
      expect((error as DatabaseError).code).toBe("TF_POSTGRES_QUERY");
      expect((error as DatabaseError).message).toContain('relation "no_such_table" does not exist');
      expect((error as DatabaseError).sqlState).toBe("42P01");
      expect((error as DatabaseError).retryable).toBe(false);
    });

    test("rows() answers with row objects on either driver", async () => {
      const rows = await db.rows<{ n: number; s: string }>(sql`select 1::int as n, 'x' as s union all select 2, 'y'`);
      expect(rows).toEqual([
        { n: 1, s: "x" },
        { n: 2, s: "y" },
      ]);
    });

    test("health makes a round trip and reports the pool", async () => {
      const health = await db.health();
      expect(health.status).toBe("up");
      expect(health.detail).toMatch(/round trip [\d.]+ ms; pool \d+ busy, \d+ idle, 0 waiting/);
      const report = await t.app.lifecycle.health();
      expect(report.checks.postgres?.status).toBe("up");
    });

    test("every query is a client span with the db attributes and the query text, never a parameter value", async () => {
      const secret = "ssn-078-05-1120";
      await db.drizzle.insert(schema.users).values({ email: "span@example.com", name: secret });
      await db.drizzle.select().from(schema.users).where(eq(schema.users.name, secret));
      const spans = recordedSpans(tracer, ["INSERT users", "SELECT users"]);
      for (const span of spans) {
        expect(span.kind).toBe("client");
        expect(span.ended).toBe(true);
        expect(span.attributes["db.system.name"]).toBe("postgresql");
        expect(span.attributes["db.namespace"]).toBe(db.namespace);
        expect(span.attributes["db.collection.name"]).toBe("users");
        expect(String(span.attributes["db.query.text"])).toContain("$1");
        expect(JSON.stringify(span.attributes)).not.toContain(secret);
      }
      expect(spans.map((s) => s.attributes["db.operation.name"])).toEqual(["INSERT", "SELECT"]);
    });

    test("a failed query's span is an error with the SQLSTATE", async () => {
      await caught(db.rows(sql`select * from no_such_table`));
      const [span] = recordedSpans(tracer, ["SELECT no_such_table"]);
      expect(span?.status).toBe("error");
      expect(span?.attributes["db.response.status_code"]).toBe("42P01");
      expect(span?.attributes["error.type"]).toBe("TF_POSTGRES_QUERY");
    });

    test("query durations go to the histogram by operation and outcome; the pool gauges collect", async () => {
      await db.rows(sql`select 1`);
      await caught(db.rows(sql`select * from no_such_table`));
      const seen = meter.observations.filter((o) => o.name === QUERY_DURATION).map((o) => o.labels);
      expect(seen).toContainEqual({ operation: "SELECT", outcome: "ok" });
      expect(seen).toContainEqual({ operation: "SELECT", outcome: "error" });
      expect(meter.observations.every((o) => o.value >= 0)).toBe(true);
      const gauges = await meter.collect();
      expect(gauges["db_pool_connections{state=busy}"]).toBe(0);
      expect(gauges["db_pool_connections{state=max}"]).toBe(db.pool().max);
      expect(gauges.db_pool_waiting).toBe(0);
    });

    if (has("sessions")) {
      test("two conflicting serializable transactions: the loser is retried and both land", async () => {
        await db.drizzle.insert(schema.users).values({ email: "counter@example.com", name: "0" });
        const bump = () =>
          db.transaction(
            async (tx) => {
              const [row] = await tx.select().from(schema.users).where(eq(schema.users.email, "counter@example.com"));
              await new Promise((resolve) => setTimeout(resolve, 50));
              await tx
                .update(schema.users)
                .set({ name: String(Number(row?.name) + 1) })
                .where(eq(schema.users.email, "counter@example.com"));
            },
            { isolationLevel: "serializable", retries: 5, backoffMs: 5 },
          );
        await Promise.all([bump(), bump()]);
        const [row] = await db.drizzle.select().from(schema.users);
        expect(row?.name).toBe("2");
        expect(db.pool().busy).toBe(0);
      });
    }

    if (has("statementTimeout")) {
      test("a statement past DATABASE_STATEMENT_TIMEOUT_MS fails as a retryable timeout", async () => {
        const error = await caught(db.rows(sql`select pg_sleep(5)`));
        expect(databaseError(error)?.code).toBe("TF_POSTGRES_TIMEOUT");
        expect(databaseError(error)?.retryable).toBe(true);
        // The connection is fine afterwards.
        expect(await db.rows(sql`select 1 as ok`)).toEqual([{ ok: 1 }]);
      });
    }
  });
}
