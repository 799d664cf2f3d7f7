/**
 * @module
 * The postgres plugin: drizzle-orm over a postgres.js pool, or over the embedded PGlite when no
 * DATABASE_URL is set (persisted in a data folder while developing, refused in production), with
 * a span per query, pool and duration metrics, portable errors, a retrying `transaction`, and
 * migrations applied under an advisory lock so concurrent runs apply each file once.
 *
 * @example
 * ```ts
 * import { createApp, definePlugin } from "@twelvefold/kernel";
 * import { Database, postgres } from "@twelvefold/postgres";
 * import { eq, sql } from "drizzle-orm";
 * import { pgTable, serial, text } from "drizzle-orm/pg-core";
 *
 * const schema = { notes: pgTable("notes", { id: serial("id").primaryKey(), body: text("body").notNull() }) };
 * const database = postgres({ schema, migrations: new URL("./migrations", import.meta.url) });
 * const notes = definePlugin({
 *   name: "notes",
 *   requires: [Database],
 *   start({ get }) {
 *     const db = get(database.Database).drizzle;
 *     const byId = db.select().from(schema.notes).where(eq(schema.notes.id, sql.placeholder("id"))).prepare("note_by_id");
 *     void byId; // byId.execute({ id }) on the hot path
 *   },
 * });
 * await createApp({ name: "notes", plugins: [database, notes] }).run();
 * ```
 */
export { postgresConfig, postgresDefaults } from "./src/config.ts";
export {
  Database,
  type HealthOptions,
  type Transaction,
  type TransactionOptions,
} from "./src/database.ts";
export type { Drizzle, Schema } from "./src/driver.ts";
export {
  DatabaseError,
  type DatabaseErrorOptions,
  databaseError,
  type PostgresErrorCode,
} from "./src/errors.ts";
export type { PoolFigures } from "./src/instrument.ts";
export {
  formatMigrationStatus,
  type MigrateResult,
  type MigrationInfo,
  type MigrationOptions,
  type MigrationStatus,
  migrate,
  migrationStatus,
} from "./src/migrate.ts";
export { type PostgresOptions, type PostgresPlugin, postgres } from "./src/plugin.ts";
