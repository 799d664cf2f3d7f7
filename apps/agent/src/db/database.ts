import type { Token } from "@twelvefold/kernel";
import { type Database, type Drizzle, type PostgresPlugin, postgres } from "@twelvefold/postgres";
import * as schema from "./schema.ts";

/** The app's drizzle handle, typed by its schema; a transaction is one too. */
export type AgentDrizzle = Drizzle<typeof schema>;

/** drizzle-kit's output folder, applied by `admin migrate` and, in development and testing, at start. */
export const MIGRATIONS = new URL("../../migrations", import.meta.url);

/**
 * The app's database plugin: PostgreSQL through postgres.js when DATABASE_URL is set, the embedded
 * PGlite in PGLITE_DATA_DIR when it is not (refused in production), with the app's schema and
 * migrations. It adds the admin command `migrate`.
 */
export function database(): PostgresPlugin<typeof schema> {
  return postgres({ schema, migrations: MIGRATIONS });
}

/** The Database token, typed by the app's schema (the postgres plugin's one token). */
export const AgentDatabase: Token<Database<typeof schema>> = database().Database;
