import type { Logger } from "@twelvefold/kernel";
import { drizzle } from "drizzle-orm/postgres-js";
import postgresJs, { type Options, type Sql, type TransactionSql } from "postgres";
import type { Driver, DriverConnection } from "./driver.ts";
import { databaseError, toDatabaseError } from "./errors.ts";
import { QueryInstruments } from "./instrument.ts";

/** What the postgres.js adapter needs to open its pool. */
export interface PostgresJsSettings {
  readonly url: string;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  /** 0: no limit. */
  readonly statementTimeoutMs: number;
  /** 0: connections stay open. */
  readonly idleTimeoutS: number;
  /** `application_name` on the server, unless the URL sets one. */
  readonly applicationName: string;
  readonly logger: Logger;
}

/** `host:port` of a DATABASE_URL, the only part of it a message shows. */
export function describeServer(url: string): { host: string; port: number; database: string; target: string } {
  const parsed = new URL(url);
  const host = decodeURIComponent(parsed.hostname) || "localhost";
  const port = Number(parsed.port) || 5432;
  const database = decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || "postgres";
  return { host, port, database, target: `${host.includes(":") ? `[${host}]` : host}:${port}` };
}

function clientOptions(
  settings: PostgresJsSettings,
  { max, statementTimeoutMs }: { max: number; statementTimeoutMs: number },
): Options<Record<string, never>> {
  const connection: Record<string, string | number> = { application_name: settings.applicationName };
  if (statementTimeoutMs > 0) connection.statement_timeout = statementTimeoutMs;
  return {
    max,
    connect_timeout: settings.connectTimeoutMs / 1000,
    idle_timeout: settings.idleTimeoutS === 0 ? undefined : settings.idleTimeoutS,
    connection,
    // postgres.js prints notices with console.log by default; they belong in the app's log.
    onnotice: (notice) =>
      settings.logger.debug("postgres notice", { severity: notice.severity, notice: notice.message }),
  };
}

/**
 * Opens the postgres.js pool behind a Database. Drizzle talks to a thin wrapper over it, which
 * times every statement, counts the work in flight, and maps driver errors to DatabaseError
 * before drizzle wraps them; `drizzle.$client` is the bare pool.
 */
export function openPostgresJs(settings: PostgresJsSettings, schema: Record<string, unknown> | undefined): Driver {
  const server = describeServer(settings.url);
  const sql = postgresJs(
    settings.url,
    clientOptions(settings, { max: settings.poolSize, statementTimeoutMs: settings.statementTimeoutMs }),
  );
  const instruments = new QueryInstruments(
    { namespace: server.database, serverAddress: server.host, serverPort: server.port },
    settings.poolSize,
  );
  const db = drizzle({ client: watched(sql, { instruments, target: server.target }) as unknown as Sql, schema });
  (db as { $client: unknown }).$client = sql;
  return {
    name: "postgres",
    drizzle: db,
    namespace: server.database,
    target: server.target,
    instruments,
    async ping(signal) {
      const query = sql`select 1`;
      const abort = () => query.cancel();
      signal.addEventListener("abort", abort, { once: true });
      try {
        await query;
      } catch (error) {
        throw toDatabaseError(error, server.target);
      } finally {
        signal.removeEventListener("abort", abort);
      }
    },
    async dedicated(): Promise<DriverConnection> {
      // One connection, no statement timeout: migrations run as long as they need, under a session lock.
      const single = postgresJs(settings.url, clientOptions(settings, { max: 1, statementTimeoutMs: 0 }));
      return dedicatedPostgresJs(single, {
        url: settings.url,
        instruments: instruments.fork(1),
        target: server.target,
      });
    },
    async close(timeoutMs) {
      // The wait for running queries is ours: postgres.js's own end() never settles once a
      // connection was lost mid-query (porsager/postgres#1097: errored() leaves the query set),
      // so it would always sit out its whole timeout after an outage. Once nothing of ours runs,
      // end() with no grace closes every connection (Terminate, then the socket) at once.
      await instruments.idle(AbortSignal.timeout(timeoutMs));
      await sql.end({ timeout: 0 });
    },
  };
}

/**
 * Wraps a single-connection client as a DriverConnection. It learns its backend's pid first, so
 * `abort()` can have the server end the session at once (pg_terminate_backend, from a connection
 * of its own): cutting only the socket would leave the backend running its statement, holding the
 * migration's locks, until it next tries to answer.
 */
async function dedicatedPostgresJs(
  single: Sql,
  { url, instruments, target }: { url: string; instruments: QueryInstruments; target: string },
): Promise<DriverConnection> {
  let pid: number | undefined;
  try {
    const [row] = await single`select pg_backend_pid() as pid`;
    pid = Number(row?.pid);
  } catch (error) {
    await single.end({ timeout: 0 });
    throw toDatabaseError(error, target);
  }
  return {
    driver: "postgres",
    drizzle: drizzle({ client: watched(single, { instruments, target }) as unknown as Sql }),
    target,
    async abort() {
      const killer = postgresJs(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
      try {
        await killer`select pg_terminate_backend(${pid ?? 0})`;
      } catch {
        // The server is unreachable: the socket's end below is all that can be done.
      } finally {
        await killer.end({ timeout: 0 });
        await single.end({ timeout: 0 });
      }
    },
    async end() {
      await single.end({ timeout: 0 });
    },
  };
}

/**
 * A dedicated single connection to `url`, without a pool: what `migrate(url)` runs on.
 */
export function connectPostgresJs(url: string, logger: Logger): Promise<DriverConnection> {
  const server = describeServer(url);
  const settings: PostgresJsSettings = {
    url,
    poolSize: 1,
    connectTimeoutMs: 10_000,
    statementTimeoutMs: 0,
    idleTimeoutS: 0,
    applicationName: "twelvefold migrate",
    logger,
  };
  const single = postgresJs(url, clientOptions(settings, { max: 1, statementTimeoutMs: 0 }));
  const instruments = new QueryInstruments({ namespace: server.database }, 1);
  return dedicatedPostgresJs(single, { url, instruments, target: server.target });
}

/** The part of postgres.js drizzle uses: `options`, `unsafe`, `begin` and, in transactions, `savepoint`. */
interface Client {
  readonly options: Sql["options"];
  unsafe(text: string, params?: unknown[], options?: { prepare?: boolean }): WatchedQuery;
  begin<T>(options: string | ((tx: Client) => Promise<T>), fn?: (tx: Client) => Promise<T>): Promise<T>;
  savepoint<T>(name: string | ((tx: Client) => Promise<T>), fn?: (tx: Client) => Promise<T>): Promise<T>;
}

/**
 * A postgres.js query as drizzle sees it: `values()` then awaited. Awaiting it runs the query
 * (postgres.js queries are lazy), reports it to the instruments, and maps its error.
 */
type PendingQuery = ReturnType<Sql["unsafe"]>;

class WatchedQuery implements PromiseLike<unknown> {
  readonly #query: PendingQuery;
  readonly #done: (error?: unknown) => void;
  readonly #target: string;

  constructor(query: PendingQuery, done: (error?: unknown) => void, target: string) {
    this.#query = query;
    this.#done = done;
    this.#target = target;
  }

  values(): this {
    this.#query.values();
    return this;
  }

  // biome-ignore lint/suspicious/noThenProperty: drizzle awaits this in place of the postgres.js query
  then<A = unknown, B = never>(
    onFulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#query.then(
      (rows) => {
        this.#done();
        return onFulfilled ? onFulfilled(rows) : (rows as A);
      },
      (error: unknown) => {
        const mapped = toDatabaseError(error, this.#target);
        this.#done(mapped);
        if (onRejected) return onRejected(mapped);
        throw mapped;
      },
    );
  }
}

/** What a watched client reports to, and whether it runs inside a transaction. */
interface Watch {
  readonly instruments: QueryInstruments;
  readonly target: string;
  readonly inTransaction?: boolean;
}

function watched(sql: Sql | TransactionSql, watch: Watch): Client {
  const { instruments, target, inTransaction = false } = watch;
  const wrapTx = (tx: TransactionSql) => watched(tx, { instruments, target, inTransaction: true });
  const rethrow = (error: unknown): never => {
    // The callback's own errors pass through; only what the driver threw is mapped.
    throw databaseError(error, target) ?? error;
  };
  return {
    options: (sql as Sql).options,
    unsafe(text, params, options) {
      const query = sql.unsafe(text, params as never[], options);
      return new WatchedQuery(query, instruments.query(text, inTransaction), target);
    },
    async begin<T>(options: string | ((tx: Client) => Promise<T>), fn?: (tx: Client) => Promise<T>): Promise<T> {
      const body = (typeof options === "function" ? options : fn) as (tx: Client) => Promise<T>;
      const mode = typeof options === "string" ? options : "";
      const ended = instruments.transaction();
      try {
        return (await (sql as Sql).begin(mode, (tx) => body(wrapTx(tx)))) as T;
      } catch (error) {
        return rethrow(error);
      } finally {
        ended();
      }
    },
    async savepoint<T>(name: string | ((tx: Client) => Promise<T>), fn?: (tx: Client) => Promise<T>): Promise<T> {
      const body = (typeof name === "function" ? name : fn) as (tx: Client) => Promise<T>;
      const tx = sql as TransactionSql;
      try {
        const run = (inner: TransactionSql) => body(wrapTx(inner));
        return (await (typeof name === "string" ? tx.savepoint(name, run) : tx.savepoint(run))) as T;
      } catch (error) {
        return rethrow(error);
      }
    },
  };
}
