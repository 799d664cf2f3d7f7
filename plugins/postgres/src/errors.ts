/**
 * The postgres plugin's error catalogue: driver errors (postgres.js, PGlite, drizzle's wrapper)
 * mapped to a small portable set, so a caller matches on `code` or `retryable` whichever driver
 * runs. Messages name the server as `host:port` and never carry the DATABASE_URL or its password.
 */
import { defineErrors, quote, TwelvefoldError, type TwelvefoldErrorOptions } from "@twelvefold/kernel";

const on = (constraint: string | undefined) => (constraint ? ` on ${quote(constraint)}` : "");

const table = {
  /** The server cannot be reached, or the connection to it was lost: try again later. */
  TF_POSTGRES_CONNECTION: {
    message: (f: { server: string; reason: string; lost: boolean }) =>
      f.lost
        ? `postgres: connection to ${quote(f.server)} lost: ${f.reason}`
        : `postgres: cannot connect to ${quote(f.server)}: ${f.reason}`,
    retryable: true,
  },
  /** The server refused the credentials: retrying will not help. */
  TF_POSTGRES_AUTH: {
    message: (f: { server: string; reason: string }) => `postgres: cannot connect to ${quote(f.server)}: ${f.reason}`,
  },
  /** No answer in time: to connect, to a statement (statement or lock timeout), to the health check. */
  TF_POSTGRES_TIMEOUT: {
    message: (f: { server: string; during: "connect" | "statement" | "round trip"; detail: string }) =>
      f.during === "connect"
        ? `postgres: cannot connect to ${quote(f.server)}: ${f.detail}`
        : f.during === "statement"
          ? `postgres: statement timed out: ${f.detail}`
          : `postgres: ${quote(f.server)} did not answer: ${f.detail}`,
    retryable: true,
  },
  TF_POSTGRES_UNIQUE_VIOLATION: {
    message: (f: { constraint?: string }) => `postgres: unique violation${on(f.constraint)}`,
  },
  TF_POSTGRES_FOREIGN_KEY_VIOLATION: {
    message: (f: { constraint?: string }) => `postgres: foreign-key violation${on(f.constraint)}`,
  },
  /** A serializable transaction lost to a concurrent one: run it again (`transaction(fn, { retries })`). */
  TF_POSTGRES_SERIALIZATION_FAILURE: {
    message: (f: { reason: string }) => `postgres: serialization failure: ${f.reason}`,
    retryable: true,
  },
  /** The server broke a deadlock by failing this transaction: run it again. */
  TF_POSTGRES_DEADLOCK: { message: (f: { reason: string }) => `postgres: deadlock: ${f.reason}`, retryable: true },
  /** Any other error the server (or the driver) raised for a query. */
  TF_POSTGRES_QUERY: {
    message: (f: { reason: string; sqlState?: string }) =>
      `postgres: query failed: ${f.reason}${f.sqlState ? ` (SQLSTATE ${f.sqlState})` : ""}`,
  },
  /** The Database was used after the plugin stopped. */
  TF_POSTGRES_CLOSED: { message: (f: { server: string }) => `postgres: ${quote(f.server)} is closed` },
  /** A migration file failed; the run was rolled back. */
  TF_POSTGRES_MIGRATION: {
    message: (f: { file: string; reason: string; pending: number }) =>
      `postgres: migration ${quote(f.file)} failed: ${f.reason}; rolled back, none of the ${f.pending} pending migration(s) applied`,
  },
  /** No migrations where they were looked for. */
  TF_POSTGRES_MIGRATIONS_MISSING: {
    message: (f: { folder?: string; problem: string }) =>
      `postgres: no migrations${f.folder === undefined ? "" : ` in ${quote(f.folder)}`}: ${f.problem}`,
  },
  /** Another process holds the PGlite data folder (PGlite itself would let both write, and lose data). */
  TF_POSTGRES_EMBEDDED_IN_USE: {
    message: (f: { folder: string; lockFile: string; pid?: number }) =>
      f.pid === undefined
        ? `postgres: cannot lock the PGlite folder ${quote(f.folder)}: remove ${quote(f.lockFile)} if no process uses it`
        : `postgres: the PGlite folder ${quote(f.folder)} is in use by process ${f.pid}: stop it first, or set DATABASE_URL to share a PostgreSQL server`,
  },
} as const;

/** Stable codes of the postgres plugin's errors. */
export type PostgresErrorCode = keyof typeof table;

/** Options of {@link DatabaseError}: the base's, and what the server said. */
export interface DatabaseErrorOptions extends TwelvefoldErrorOptions {
  /** The server's SQLSTATE, when the server answered. */
  readonly sqlState?: string;
  /** The violated constraint, for unique and foreign-key violations. */
  readonly constraint?: string;
  /** The migration file, for migration failures. */
  readonly file?: string;
}

/**
 * An error from the database, whichever driver runs. `retryable` is true for connection
 * problems, timeouts, serialization failures and deadlocks: the same work may succeed when tried
 * again (see `Database.transaction`'s `retries`).
 *
 * @example
 * ```ts
 * import { databaseError } from "@twelvefold/postgres";
 * declare function insertUser(email: string): Promise<void>;
 * declare function conflict(): Response;
 *
 * try {
 *   await insertUser("ada@example.com");
 * } catch (error) {
 *   if (databaseError(error)?.code === "TF_POSTGRES_UNIQUE_VIOLATION") conflict();
 *   else throw error;
 * }
 * ```
 */
export class DatabaseError extends TwelvefoldError<PostgresErrorCode> {
  override name = "DatabaseError";
  readonly sqlState: string | undefined;
  readonly constraint: string | undefined;
  readonly file: string | undefined;
  constructor(code: PostgresErrorCode, message: string, options: DatabaseErrorOptions = {}) {
    super(code, message, options);
    this.sqlState = options.sqlState;
    this.constraint = options.constraint;
    this.file = options.file;
  }
}

/** The postgres plugin's catalogue: `postgresErrors.create(code, facts, { cause })`. */
export const postgresErrors = defineErrors(table, DatabaseError);

/** What a driver error looks like: a code (SQLSTATE or a socket/driver code) and server fields. */
interface DriverError {
  readonly code?: unknown;
  readonly severity?: unknown;
  readonly constraint_name?: unknown;
  readonly constraint?: unknown;
}

const socketCodes: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EAI_NONAME: "host not found",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "no answer",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed",
  CONNECTION_CLOSED: "connection closed",
};
const lostCodes = new Set(["ECONNRESET", "EPIPE", "CONNECTION_CLOSED"]);
const driverCodes = new Set([
  "CONNECT_TIMEOUT",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  ...Object.keys(socketCodes),
]);

/**
 * A server error (postgres.js's PostgresError and PGlite's DatabaseError both carry a SQLSTATE
 * and a severity) or a connection error of the driver or the socket. Other errors with a `code`
 * (a KernelError, an app's own) are not.
 */
function isDriverError(error: Error): boolean {
  const { code, severity } = error as DriverError;
  if (typeof code !== "string") return false;
  return driverCodes.has(code) || tlsCode.test(code) || (/^[0-9A-Z]{5}$/.test(code) && typeof severity === "string");
}

/** Node's TLS and certificate error codes (`DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`, ...). */
const tlsCode = /CERT|TLS|SSL/;

/**
 * Finds the database error in `error`'s cause chain (drizzle wraps driver errors in its own,
 * whose message carries the query's parameters), or maps the driver error found there.
 * Returns undefined when the error did not come from the database. `server` names the database
 * in the messages of mapped errors.
 *
 * @example
 * ```ts
 * import { databaseError } from "@twelvefold/postgres";
 * declare const error: unknown;
 * declare function retryLater(): void;
 * if (databaseError(error)?.retryable) retryLater();
 * ```
 */
export function databaseError(error: unknown, server = "database"): DatabaseError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof DatabaseError) return current;
    if (isDriverError(current)) return mapDriverError(current, server);
    current = current.cause;
  }
  return undefined;
}

/**
 * Maps any error of a query to a {@link DatabaseError}; one that is not a driver error becomes
 * `TF_POSTGRES_QUERY` with it as the cause. `server` names the database in messages (`host:port`).
 */
export function toDatabaseError(error: unknown, server: string): DatabaseError {
  const found = databaseError(error, server);
  if (found) return found;
  const message = error instanceof Error ? error.message : String(error);
  if (/closed/i.test(message) && /pglite/i.test(message)) {
    return postgresErrors.create("TF_POSTGRES_CLOSED", { server }, { cause: error });
  }
  return postgresErrors.create("TF_POSTGRES_QUERY", { reason: firstLine(message) }, { cause: error });
}

function mapDriverError(error: Error, server: string): DatabaseError {
  const fields = error as DriverError;
  const code = String(fields.code);
  const reason = firstLine(error.message);
  const sqlState = /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const options = { cause: error, sqlState };
  const named = typeof fields.constraint_name === "string" ? fields.constraint_name : fields.constraint;
  const constraint = typeof named === "string" ? named : undefined;
  const create = postgresErrors.create;
  switch (code) {
    case "23505":
      return create("TF_POSTGRES_UNIQUE_VIOLATION", { constraint }, { ...options, constraint });
    case "23503":
      return create("TF_POSTGRES_FOREIGN_KEY_VIOLATION", { constraint }, { ...options, constraint });
    case "40001":
      return create("TF_POSTGRES_SERIALIZATION_FAILURE", { reason }, options);
    case "40P01":
      return create("TF_POSTGRES_DEADLOCK", { reason }, options);
    case "57014":
    case "55P03":
      return create("TF_POSTGRES_TIMEOUT", { server, during: "statement", detail: reason }, options);
    case "CONNECT_TIMEOUT":
      return create("TF_POSTGRES_TIMEOUT", { server, during: "connect", detail: "no answer in time" }, options);
    case "CONNECTION_ENDED":
    case "CONNECTION_DESTROYED":
      return create("TF_POSTGRES_CLOSED", { server }, options);
    case "28000":
    case "28P01":
      return create("TF_POSTGRES_AUTH", { server, reason }, options);
    case "3D000":
      return create("TF_POSTGRES_CONNECTION", { server, reason, lost: false }, { ...options, retryable: false });
  }
  // A certificate the client rejects, or a server that hung up on the handshake: no retry fixes it.
  if (tlsCode.test(code) || /\bTLS\b/.test(reason)) {
    return create(
      "TF_POSTGRES_CONNECTION",
      { server, reason: `TLS failed (sslmode): ${reason}`, lost: false },
      { ...options, retryable: false },
    );
  }
  // Class 08 (connection exception) and 57P01-57P03 (the server shut down or terminated the backend).
  if (code.startsWith("08") || /^57P0[1-3]$/.test(code)) {
    return create("TF_POSTGRES_CONNECTION", { server, reason, lost: true }, options);
  }
  const socket = socketCodes[code];
  if (socket) return create("TF_POSTGRES_CONNECTION", { server, reason: socket, lost: lostCodes.has(code) }, options);
  return create("TF_POSTGRES_QUERY", { reason, sqlState }, options);
}

function firstLine(text: unknown): string {
  const line = String(text ?? "").split("\n", 1)[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
