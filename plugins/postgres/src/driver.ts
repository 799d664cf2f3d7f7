import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { QueryInstruments } from "./instrument.ts";

/** A drizzle schema: the module of tables and relations an app passes as `postgres({ schema })`. */
export type Schema = Record<string, unknown>;

/**
 * The drizzle handle of a Database, the same type over postgres.js and PGlite. Results of
 * `execute()` differ between the drivers (a row array, a `{ rows }` object); `Database.rows()`
 * gives the same shape on both.
 */
export type Drizzle<S extends Schema = Record<string, never>> = PgDatabase<PgQueryResultHKT, S> & {
  /** The bare driver: postgres.js's `Sql`, or the `PGlite` instance. No spans, no error mapping. */
  readonly $client: unknown;
};

/** A connection of its own, for work that holds a session lock (migrations). */
export interface DriverConnection {
  readonly driver: "postgres" | "pglite";
  readonly drizzle: Drizzle<Schema>;
  /** How messages name the database. */
  readonly target: string;
  /** Cuts the connection now (the server rolls back what it was doing); PGlite cannot, and does nothing. */
  abort(): Promise<void>;
  end(): Promise<void>;
}

/** What each adapter (postgres.js, PGlite) gives the Database built over it. */
export interface Driver {
  readonly name: "postgres" | "pglite";
  readonly drizzle: Drizzle<Schema>;
  /** The database name: `db.namespace` on spans. */
  readonly namespace: string;
  /** How messages name the database: `host:port`, or PGlite and its folder. Never a password. */
  readonly target: string;
  readonly instruments: QueryInstruments;
  /** One round trip; rejects with a DatabaseError. Gives up when `signal` aborts. */
  ping(signal: AbortSignal): Promise<void>;
  /** A dedicated single connection (postgres.js), or the one PGlite session under an in-process lock. */
  dedicated(): Promise<DriverConnection>;
  /** Waits up to `timeoutMs` for running queries, then closes. */
  close(timeoutMs: number): Promise<void>;
}
