import { defineConfig, env, type InferConfig, type ProfileDefaults, secret } from "@twelvefold/kernel";
import * as v from "valibot";

const protocols = ["postgres:", "postgresql:"] as const;
const sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** A postgres:// URL whose `sslmode`, when given, is one postgres.js understands (a typo would mean no TLS check). */
function databaseUrl(expected?: string) {
  const url = expected ? v.pipe(v.string(expected), env.url({ protocols })) : env.url({ protocols });
  return v.pipe(
    url,
    v.check(
      (s) => {
        const mode = new URL(s).searchParams.get("sslmode");
        return mode === null || sslModes.includes(mode);
      },
      `a URL whose sslmode is one of ${sslModes.join(", ")}`,
    ),
  );
}

/**
 * The postgres plugin's settings, keyed by env var name. DATABASE_URL is optional (without it the
 * app runs on the embedded PGlite) except in production, which refuses PGlite: there a missing
 * DATABASE_URL is a config error (exit 78), reported with every other problem.
 */
export const postgresConfig = defineConfig(
  {
    /** The PostgreSQL server; its password never reaches a message. TLS follows its `sslmode`. */
    DATABASE_URL: secret(v.optional(databaseUrl())),
    /** Connections in the postgres.js pool (profile defaults: 5 in development and testing, 20 in production). */
    DATABASE_POOL_SIZE: v.optional(env.integer({ min: 1, max: 1000 }), "10"),
    /** Time to open a connection, including TLS and authentication. */
    DATABASE_CONNECT_TIMEOUT_MS: v.optional(env.integer({ min: 1, max: 600_000 }), "10000"),
    /** The server cancels a statement running longer than this; 0 turns the limit off. */
    DATABASE_STATEMENT_TIMEOUT_MS: v.optional(env.integer({ min: 0, max: 86_400_000 }), "30000"),
    /** Deadline of the health check's round trip. */
    DATABASE_HEALTH_TIMEOUT_MS: v.optional(env.integer({ min: 1, max: 60_000 }), "1000"),
    /** Seconds an unused pooled connection stays open; 0 keeps it. */
    DATABASE_IDLE_TIMEOUT_S: v.optional(env.integer({ min: 0, max: 86_400 }), "300"),
    /** Apply pending migrations at start, under the migration lock (on by default in development and testing). */
    DATABASE_MIGRATE_ON_START: v.optional(env.boolean(), "false"),
    /** Where PGlite keeps its files when DATABASE_URL is unset; `memory://` keeps nothing (testing's default). */
    PGLITE_DATA_DIR: v.optional(env.string({ minLength: 1 }), ".data/pglite"),
    /** The kernel's: at stop, running queries get this long before the pool is ended. */
    SHUTDOWN_TIMEOUT_MS: v.optional(env.integer({ min: 0 }), "20000"),
  },
  { production: { DATABASE_URL: secret(databaseUrl("a postgres:// URL: production refuses the embedded PGlite")) } },
);

/** The parsed settings. */
export type PostgresConfig = InferConfig<typeof postgresConfig>;

/** Per-profile defaults: a small pool and migrations at start while developing, 20 connections in production. */
export const postgresDefaults: ProfileDefaults = {
  development: { DATABASE_POOL_SIZE: "5", DATABASE_MIGRATE_ON_START: "true" },
  testing: { DATABASE_POOL_SIZE: "5", DATABASE_MIGRATE_ON_START: "true", PGLITE_DATA_DIR: "memory://" },
  production: { DATABASE_POOL_SIZE: "20" },
};
