/**
 * The postgres plugin's error catalogue: driver errors (postgres.js, PGlite, drizzle's wrapper)
 * mapped to a small portable set, so a caller matches on `code` or `retryable` whichever driver
 * runs. Messages name the server as `host:port` and never carry the DATABASE_URL or its password.
 */

/** Stable codes of the postgres plugin's errors. */
export type PostgresErrorCode =
  | "TF_POSTGRES_CONNECTION"
  | "TF_POSTGRES_AUTH"
  | "TF_POSTGRES_TIMEOUT"
  | "TF_POSTGRES_UNIQUE_VIOLATION"
  | "TF_POSTGRES_FOREIGN_KEY_VIOLATION"
  | "TF_POSTGRES_SERIALIZATION_FAILURE"
  | "TF_POSTGRES_DEADLOCK"
  | "TF_POSTGRES_QUERY"
  | "TF_POSTGRES_CLOSED"
  | "TF_POSTGRES_MIGRATION"
  | "TF_POSTGRES_MIGRATIONS_MISSING"
  | "TF_POSTGRES_EMBEDDED_IN_USE";

/** Options of {@link DatabaseError}. */
export interface DatabaseErrorOptions {
  readonly cause?: unknown;
  /** True when trying again (a new connection, a new transaction) may succeed. */
  readonly retryable?: boolean;
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
 * try {
 *   await db.drizzle.insert(users).values({ email });
 * } catch (error) {
 *   if (databaseError(error)?.code === "TF_POSTGRES_UNIQUE_VIOLATION") return conflict();
 *   throw error;
 * }
 * ```
 */
export class DatabaseError extends Error {
  override name = "DatabaseError";
  readonly code: PostgresErrorCode;
  readonly retryable: boolean;
  readonly sqlState: string | undefined;
  readonly constraint: string | undefined;
  readonly file: string | undefined;
  constructor(code: PostgresErrorCode, message: string, options: DatabaseErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.sqlState = options.sqlState;
    this.constraint = options.constraint;
    this.file = options.file;
  }
}

/** What a driver error looks like: a code (SQLSTATE or a socket/driver code) and server fields. */
interface DriverError {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly constraint_name?: unknown;
  readonly constraint?: unknown;
  readonly cause?: unknown;
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
  FailedToOpenSocket: "connection refused",
  ConnectionRefused: "connection refused",
};

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
  const { code, severity } = error as DriverError & { severity?: unknown };
  if (typeof code !== "string") return false;
  return driverCodes.has(code) || (/^[0-9A-Z]{5}$/.test(code) && typeof severity === "string");
}

/**
 * Finds the database error in `error`'s cause chain (drizzle wraps driver errors in its own,
 * whose message carries the query's parameters), or maps the driver error found there.
 * Returns undefined when the error did not come from the database.
 *
 * @example
 * ```ts
 * if (databaseError(error)?.retryable) return retryLater();
 * ```
 */
export function databaseError(error: unknown, target = "database"): DatabaseError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof DatabaseError) return current;
    if (isDriverError(current)) return mapDriverError(current, target);
    current = current.cause;
  }
  return undefined;
}

/**
 * Maps any error of a query to a {@link DatabaseError}; one that is not a driver error becomes
 * `TF_POSTGRES_QUERY` with it as the cause. `target` names the server in messages (`host:port`).
 */
export function toDatabaseError(error: unknown, target: string): DatabaseError {
  const found = databaseError(error, target);
  if (found) return found;
  const message = error instanceof Error ? error.message : String(error);
  if (/closed/i.test(message) && /pglite/i.test(message)) {
    return new DatabaseError("TF_POSTGRES_CLOSED", `postgres: ${quote(target)} is closed`, { cause: error });
  }
  return new DatabaseError("TF_POSTGRES_QUERY", `postgres: query failed: ${firstLine(message)}`, { cause: error });
}

function mapDriverError(error: Error, target: string): DatabaseError {
  const fields = error as DriverError;
  const code = String(fields.code);
  const serverMessage = firstLine(error.message);
  const where = quote(target);
  const options = { cause: error, sqlState: /^[0-9A-Z]{5}$/.test(code) ? code : undefined };
  const constraint = typeof fields.constraint_name === "string" ? fields.constraint_name : fields.constraint;
  const named = typeof constraint === "string" ? ` on ${quote(constraint)}` : "";
  switch (code) {
    case "23505":
      return new DatabaseError("TF_POSTGRES_UNIQUE_VIOLATION", `postgres: unique violation${named}`, {
        ...options,
        constraint: typeof constraint === "string" ? constraint : undefined,
      });
    case "23503":
      return new DatabaseError("TF_POSTGRES_FOREIGN_KEY_VIOLATION", `postgres: foreign-key violation${named}`, {
        ...options,
        constraint: typeof constraint === "string" ? constraint : undefined,
      });
    case "40001":
      return new DatabaseError(
        "TF_POSTGRES_SERIALIZATION_FAILURE",
        `postgres: serialization failure: ${serverMessage}`,
        {
          ...options,
          retryable: true,
        },
      );
    case "40P01":
      return new DatabaseError("TF_POSTGRES_DEADLOCK", `postgres: deadlock detected: ${serverMessage}`, {
        ...options,
        retryable: true,
      });
    case "57014":
    case "55P03":
      return new DatabaseError("TF_POSTGRES_TIMEOUT", `postgres: statement timed out: ${serverMessage}`, {
        ...options,
        retryable: true,
      });
    case "CONNECT_TIMEOUT":
      return new DatabaseError("TF_POSTGRES_TIMEOUT", `postgres: cannot connect to ${where}: no answer in time`, {
        ...options,
        retryable: true,
      });
    case "CONNECTION_ENDED":
    case "CONNECTION_DESTROYED":
      return new DatabaseError("TF_POSTGRES_CLOSED", `postgres: the pool to ${where} is closed`, options);
    case "28000":
    case "28P01":
      return new DatabaseError("TF_POSTGRES_AUTH", `postgres: cannot connect to ${where}: ${serverMessage}`, options);
    case "3D000":
      return new DatabaseError(
        "TF_POSTGRES_CONNECTION",
        `postgres: cannot connect to ${where}: ${serverMessage}`,
        options,
      );
  }
  // Class 08 (connection exception) and 57P01-57P03 (the server shut down or terminated the backend).
  if (code.startsWith("08") || /^57P0[1-3]$/.test(code)) {
    return new DatabaseError("TF_POSTGRES_CONNECTION", `postgres: connection to ${where} lost: ${serverMessage}`, {
      ...options,
      retryable: true,
    });
  }
  const socket = socketCodes[code];
  if (socket) {
    const lost = code === "CONNECTION_CLOSED" || code === "ECONNRESET" || code === "EPIPE";
    const message = lost
      ? `postgres: connection to ${where} lost: ${socket}`
      : `postgres: cannot connect to ${where}: ${socket}`;
    return new DatabaseError("TF_POSTGRES_CONNECTION", message, { ...options, retryable: true });
  }
  return new DatabaseError(
    "TF_POSTGRES_QUERY",
    `postgres: query failed: ${serverMessage}${options.sqlState ? ` (SQLSTATE ${options.sqlState})` : ""}`,
    options,
  );
}

function firstLine(text: unknown): string {
  const line = String(text ?? "").split("\n", 1)[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

function quote(text: string): string {
  return JSON.stringify(text);
}
