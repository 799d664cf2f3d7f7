import { type HealthCheckResult, token } from "@twelvefold/kernel";
import type { SQL } from "drizzle-orm";
import type { PgQueryResultHKT, PgTransaction, PgTransactionConfig } from "drizzle-orm/pg-core";
import type { ExtractTablesWithRelations } from "drizzle-orm/relations";
import type { Driver, DriverConnection, Drizzle, Schema } from "./driver.ts";
import { databaseError, postgresErrors } from "./errors.ts";
import type { PoolFigures } from "./instrument.ts";

/** A drizzle transaction of a Database with schema `S`. */
export type Transaction<S extends Schema = Record<string, never>> = PgTransaction<
  PgQueryResultHKT,
  S,
  ExtractTablesWithRelations<S>
>;

/** Options of {@link Database.transaction}. */
export interface TransactionOptions extends PgTransactionConfig {
  /**
   * How many times to run `fn` again after a serialization failure or a deadlock (default 0).
   * Each attempt is a new transaction, so `fn` must do nothing outside the database that cannot
   * run twice.
   */
  readonly retries?: number;
  /** Milliseconds before the first retry, doubled each time, with jitter (default 20). */
  readonly backoffMs?: number;
}

/** Options of {@link Database.health}. */
export interface HealthOptions {
  /** Gives up early (the kernel's health budget). */
  readonly signal?: AbortSignal;
  /** The round trip's deadline (default DATABASE_HEALTH_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/**
 * The database of an app: drizzle over the postgres.js pool when DATABASE_URL is set, over the
 * embedded PGlite when it is not. Get it from the registry with the {@link Database} token, or
 * with the typed token of your `postgres({ schema })` plugin to have `drizzle.query.*` typed.
 *
 * Hot queries should be prepared once, at start, with drizzle's `.prepare(name)`: drizzle turns
 * postgres.js's server-side prepared statements off for every query that is not, which costs
 * about five times the throughput of a primary-key lookup.
 *
 * @example
 * ```ts
 * const db = get(Database).drizzle;
 * const byId = db.select().from(users).where(eq(users.id, sql.placeholder("id"))).prepare("user_by_id");
 * const [user] = await byId.execute({ id });
 * ```
 */
export interface Database<S extends Schema = Record<string, never>> {
  /** The drizzle handle. `drizzle.$client` is the bare driver (untraced, unmapped errors). */
  readonly drizzle: Drizzle<S>;
  /** Which driver runs: `postgres` (postgres.js) or `pglite` (embedded). */
  readonly driver: "postgres" | "pglite";
  /** The database name (`db.namespace`). */
  readonly namespace: string;
  /** The server as messages name it: `host:port`, or PGlite and its folder. */
  readonly target: string;
  /**
   * Runs `fn` in a transaction, and again (up to `retries` times) when it fails with a
   * serialization failure or a deadlock. Errors come out as {@link DatabaseError} when the
   * database raised them, unchanged otherwise.
   */
  transaction<T>(fn: (tx: Transaction<S>) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** The rows of a raw SQL query, as objects, on either driver (`execute()` differs between them). */
  rows<T extends Record<string, unknown> = Record<string, unknown>>(query: SQL): Promise<T[]>;
  /** A real round trip under a deadline: `up` with its latency, or `down` with the reason. */
  health(options?: HealthOptions): Promise<HealthCheckResult>;
  /** Connection counts: busy, idle, waiting, max. */
  pool(): PoolFigures;
}

/** The app's database, provided by the postgres plugin. */
export const Database = token<Database<Schema>>("twelvefold/postgres/Database");

const internals = new WeakMap<object, Driver>();

/** The driver behind a Database built here (for migrations, which need a connection of their own). */
export function driverOf(database: Database<Schema>): Driver | undefined {
  return internals.get(database);
}

/** Opens a dedicated connection of `database` (see `Driver.dedicated`). */
export function dedicatedConnection(database: Database<Schema>): Promise<DriverConnection> {
  const driver = driverOf(database);
  if (!driver) throw new TypeError("postgres: not a Database of the postgres plugin");
  return driver.dedicated();
}

/** Builds the Database over a driver. */
export function createDatabase<S extends Schema>(driver: Driver, healthTimeoutMs: number): Database<S> {
  const drizzle = driver.drizzle as unknown as Drizzle<S>;
  const database: Database<S> = {
    drizzle,
    driver: driver.name,
    namespace: driver.namespace,
    target: driver.target,
    async transaction(fn, options = {}) {
      const { retries = 0, backoffMs = 20, ...rest } = options;
      // drizzle sends SET TRANSACTION for any config object, even an empty one (a syntax error).
      const config = Object.keys(rest).length > 0 ? rest : undefined;
      for (let attempt = 0; ; attempt++) {
        try {
          return await drizzle.transaction(fn as (tx: unknown) => Promise<never>, config);
        } catch (error) {
          const mapped = databaseError(error, driver.target);
          const again = mapped?.code === "TF_POSTGRES_SERIALIZATION_FAILURE" || mapped?.code === "TF_POSTGRES_DEADLOCK";
          if (!again || attempt >= retries) throw mapped ?? error;
          const delay = backoffMs * 2 ** attempt;
          await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * delay));
        }
      }
    },
    async rows<T extends Record<string, unknown>>(query: SQL): Promise<T[]> {
      try {
        const result: unknown = await drizzle.execute(query);
        // postgres.js answers with its row list (an array with the command and columns on it), PGlite with `{ rows }`.
        return (Array.isArray(result) ? [...result] : (result as { rows: T[] }).rows) as T[];
      } catch (error) {
        throw databaseError(error, driver.target) ?? error;
      }
    },
    async health(options = {}) {
      const timeoutMs = options.timeoutMs ?? healthTimeoutMs;
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
      const began = performance.now();
      try {
        await beforeAbort(driver.ping(signal), signal, () =>
          postgresErrors.create("TF_POSTGRES_TIMEOUT", {
            server: driver.target,
            during: "round trip",
            detail: `no answer within ${timeoutMs} ms`,
          }),
        );
        const { busy, idle, waiting } = driver.instruments.pool();
        const ms = Math.round((performance.now() - began) * 100) / 100;
        return {
          status: "up",
          detail: `${driver.name} ${driver.target}: round trip ${ms} ms; pool ${busy} busy, ${idle} idle, ${waiting} waiting`,
        };
      } catch (error) {
        return { status: "down", detail: error instanceof Error ? error.message : String(error) };
      }
    },
    pool: () => driver.instruments.pool(),
  };
  internals.set(database, driver);
  return database;
}

/** Settles with `work`, or rejects with `timeoutError()` as soon as `signal` aborts. */
export function beforeAbort<T>(work: Promise<T>, signal: AbortSignal, timeoutError: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(timeoutError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(timeoutError());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
