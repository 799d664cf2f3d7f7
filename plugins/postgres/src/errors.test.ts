import { describe, expect, test } from "bun:test";
import { errorsContract } from "@twelvefold/testing";
import { databaseError, postgresErrors, toDatabaseError } from "./errors.ts";

errorsContract("postgres", postgresErrors, {
  TF_POSTGRES_CONNECTION: { server: "db:5432", reason: "connection refused", lost: false },
  TF_POSTGRES_AUTH: { server: "db:5432", reason: 'password authentication failed for user "app"' },
  TF_POSTGRES_TIMEOUT: { server: "db:5432", during: "round trip", detail: "no answer within 1000 ms" },
  TF_POSTGRES_UNIQUE_VIOLATION: { constraint: "users_email_key" },
  TF_POSTGRES_FOREIGN_KEY_VIOLATION: {},
  TF_POSTGRES_SERIALIZATION_FAILURE: { reason: "could not serialize access due to concurrent update" },
  TF_POSTGRES_DEADLOCK: { reason: "deadlock detected" },
  TF_POSTGRES_QUERY: { reason: 'relation "x" does not exist', sqlState: "42P01" },
  TF_POSTGRES_CLOSED: { server: "db:5432" },
  TF_POSTGRES_MIGRATION: { file: "0003_broken.sql", reason: "syntax error", pending: 2 },
  TF_POSTGRES_MIGRATIONS_MISSING: { folder: "./migrations", problem: "cannot read meta/_journal.json" },
  TF_POSTGRES_EMBEDDED_IN_USE: { folder: ".data/pglite", lockFile: ".data/pglite.lock", pid: 4242 },
});

/** A server error as postgres.js and PGlite raise them: a SQLSTATE and a severity. */
function serverError(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, severity: "ERROR", ...extra });
}

function socketError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("the portable error mapping", () => {
  const cases: Array<[string, Error, string, boolean, string]> = [
    [
      "connection refused",
      socketError("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.5:5432"),
      "TF_POSTGRES_CONNECTION",
      true,
      'postgres: cannot connect to "db:5432": connection refused',
    ],
    [
      "unknown host",
      socketError("ENOTFOUND", "getaddrinfo ENOTFOUND db"),
      "TF_POSTGRES_CONNECTION",
      true,
      'postgres: cannot connect to "db:5432": host not found',
    ],
    [
      "connection reset",
      socketError("ECONNRESET", "read ECONNRESET"),
      "TF_POSTGRES_CONNECTION",
      true,
      'postgres: connection to "db:5432" lost: connection reset',
    ],
    [
      "a certificate the client rejects",
      socketError("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"),
      "TF_POSTGRES_CONNECTION",
      false,
      'postgres: cannot connect to "db:5432": TLS failed (sslmode): self-signed certificate',
    ],
    [
      "a server that hangs up on the TLS handshake (sslmode=require, no TLS there)",
      socketError("ECONNRESET", "Client network socket disconnected before secure TLS connection was established"),
      "TF_POSTGRES_CONNECTION",
      false,
      'postgres: cannot connect to "db:5432": TLS failed (sslmode): Client network socket disconnected before secure TLS connection was established',
    ],
    [
      "backend terminated",
      serverError("57P01", "terminating connection due to administrator command"),
      "TF_POSTGRES_CONNECTION",
      true,
      'postgres: connection to "db:5432" lost: terminating connection due to administrator command',
    ],
    [
      "connection failure",
      serverError("08006", "connection failure"),
      "TF_POSTGRES_CONNECTION",
      true,
      'postgres: connection to "db:5432" lost: connection failure',
    ],
    [
      "connect timeout",
      socketError("CONNECT_TIMEOUT", "write CONNECT_TIMEOUT db:5432"),
      "TF_POSTGRES_TIMEOUT",
      true,
      'postgres: cannot connect to "db:5432": no answer in time',
    ],
    [
      "statement timeout",
      serverError("57014", "canceling statement due to statement timeout"),
      "TF_POSTGRES_TIMEOUT",
      true,
      "postgres: statement timed out: canceling statement due to statement timeout",
    ],
    [
      "lock timeout",
      serverError("55P03", "canceling statement due to lock timeout"),
      "TF_POSTGRES_TIMEOUT",
      true,
      "postgres: statement timed out: canceling statement due to lock timeout",
    ],
    [
      "wrong password",
      serverError("28P01", 'password authentication failed for user "app"'),
      "TF_POSTGRES_AUTH",
      false,
      'postgres: cannot connect to "db:5432": password authentication failed for user "app"',
    ],
    [
      "unknown database",
      serverError("3D000", 'database "nope" does not exist'),
      "TF_POSTGRES_CONNECTION",
      false,
      'postgres: cannot connect to "db:5432": database "nope" does not exist',
    ],
    [
      "pool ended",
      socketError("CONNECTION_ENDED", "write CONNECTION_ENDED db:5432"),
      "TF_POSTGRES_CLOSED",
      false,
      'postgres: "db:5432" is closed',
    ],
    [
      "serialization failure",
      serverError("40001", "could not serialize access due to concurrent update"),
      "TF_POSTGRES_SERIALIZATION_FAILURE",
      true,
      "postgres: serialization failure: could not serialize access due to concurrent update",
    ],
    [
      "deadlock",
      serverError("40P01", "deadlock detected"),
      "TF_POSTGRES_DEADLOCK",
      true,
      "postgres: deadlock: deadlock detected",
    ],
    [
      "unique violation",
      serverError("23505", 'duplicate key value violates unique constraint "users_email_key"', {
        constraint_name: "users_email_key",
        detail: "Key (email)=(ada@example.com) already exists.",
      }),
      "TF_POSTGRES_UNIQUE_VIOLATION",
      false,
      'postgres: unique violation on "users_email_key"',
    ],
    [
      "foreign-key violation (PGlite names it constraint)",
      serverError("23503", "insert or update violates foreign key constraint", { constraint: "notes_user_fk" }),
      "TF_POSTGRES_FOREIGN_KEY_VIOLATION",
      false,
      'postgres: foreign-key violation on "notes_user_fk"',
    ],
  ];

  for (const [what, driverError, code, retryable, message] of cases) {
    test(`${what}: ${code}, retryable ${retryable}`, () => {
      const mapped = toDatabaseError(driverError, "db:5432");
      const seen: Record<string, unknown> = { code: mapped.code, retryable: mapped.retryable, message: mapped.message };
      expect(seen).toEqual({
        code,
        retryable,
        message,
      });
      expect(mapped.cause).toBe(driverError);
    });
  }

  test("a unique violation's message keeps the offending values (the server's detail) out", () => {
    const error = serverError("23505", "duplicate key", { constraint_name: "k", detail: "Key (ssn)=(078-05-1120)" });
    expect(toDatabaseError(error, "db:5432").message).not.toContain("078-05-1120");
  });

  test("the database error is found under drizzle's wrapper and a kernel error", () => {
    const driver = serverError("40001", "could not serialize");
    const drizzle = Object.assign(new Error("Failed query: update x set y = $1\nparams: secret-value"), {
      cause: driver,
    });
    const kernel = Object.assign(new Error("postgres: start failed"), {
      code: "TF_PLUGIN_START_FAILED",
      cause: drizzle,
    });
    expect(databaseError(kernel)?.code).toBe("TF_POSTGRES_SERIALIZATION_FAILURE");
    const mapped = postgresErrors.create("TF_POSTGRES_DEADLOCK", { reason: "deadlock detected" });
    expect(databaseError(Object.assign(new Error("wrapper"), { cause: mapped }))).toBe(mapped);
  });

  test("errors that are not the database's are left alone", () => {
    expect(databaseError(new Error("plain"))).toBeUndefined();
    expect(databaseError(Object.assign(new Error("an app error"), { code: "TF_HTTP_NOT_FOUND" }))).toBeUndefined();
    expect(databaseError(Object.assign(new Error("five letters, no severity"), { code: "ABCDE" }))).toBeUndefined();
    expect(databaseError("a string")).toBeUndefined();
  });

  test("toDatabaseError wraps anything else as a query failure, and a closed PGlite as closed", () => {
    const other = toDatabaseError(new TypeError("bad input\nsecond line"), "db:5432");
    expect(other.code).toBe("TF_POSTGRES_QUERY");
    expect(other.message).toBe("postgres: query failed: bad input");
    expect(toDatabaseError(new Error("PGlite is closed"), "PGlite in memory").code).toBe("TF_POSTGRES_CLOSED");
    expect(toDatabaseError("thrown text", "db:5432").message).toBe("postgres: query failed: thrown text");
    const other5 = toDatabaseError(serverError("22P02", 'invalid input syntax for type integer: "x"'), "db:5432");
    expect(other5.message).toBe('postgres: query failed: invalid input syntax for type integer: "x" (SQLSTATE 22P02)');
  });
});
