import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Logger, quote } from "@twelvefold/kernel";
import { type SQL, sql } from "drizzle-orm";
import type { MigrationConfig } from "drizzle-orm/migrator";
import { type Database, dedicatedConnection } from "./database.ts";
import type { DriverConnection, Drizzle, Schema } from "./driver.ts";
import { databaseError, postgresErrors } from "./errors.ts";
import { connectPostgresJs } from "./postgres-js.ts";

/** Options of {@link migrate} and {@link migrationStatus}. */
export interface MigrationOptions {
  /** drizzle-kit's output folder: the `.sql` files and `meta/_journal.json`. */
  readonly migrations: string | URL;
  /** Stops waiting for the lock, and cuts the connection of a migration in progress (it rolls back). */
  readonly signal?: AbortSignal;
  /** Where progress goes (one line per applied migration). */
  readonly logger?: Logger;
  /** drizzle's bookkeeping table (default `drizzle.__drizzle_migrations`). */
  readonly migrationsSchema?: string;
  readonly migrationsTable?: string;
}

/** One migration file of the journal. */
export interface MigrationInfo {
  /** drizzle-kit's tag, e.g. `0001_add_memory`. */
  readonly tag: string;
  /** The SQL file, e.g. `0001_add_memory.sql`. */
  readonly file: string;
  /** The journal's timestamp (ms), which drizzle records as the migration's `created_at`. */
  readonly when: number;
}

/** What {@link migrationStatus} reports. */
export interface MigrationStatus {
  readonly applied: readonly MigrationInfo[];
  /** Files drizzle would apply now, in order. */
  readonly pending: readonly MigrationInfo[];
  /** Applied files whose text changed since (their SHA-256 no longer matches the record). */
  readonly changed: readonly MigrationInfo[];
  /**
   * Files older than the last applied one that were never applied (a branch merged late):
   * drizzle's migrator skips them; give them a newer timestamp to apply them.
   */
  readonly skipped: readonly MigrationInfo[];
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** The files this run applied, in order (none when another run had applied them). */
  readonly applied: readonly MigrationInfo[];
  readonly status: MigrationStatus;
}

interface JournalFile extends MigrationInfo {
  readonly text: string;
}

const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => noopLogger,
  enabled: () => false,
};

const DEFAULT_SCHEMA = "drizzle";
const DEFAULT_TABLE = "__drizzle_migrations";
const LOCK_POLL_MS = 100;

function folderPath(folder: string | URL): string {
  return folder instanceof URL ? fileURLToPath(folder) : folder;
}

/** Reads drizzle-kit's journal and the files it lists. */
export function readJournal(folder: string | URL): JournalFile[] {
  const path = folderPath(folder);
  let journal: { entries?: Array<{ tag: string; when: number }> };
  try {
    journal = JSON.parse(readFileSync(join(path, "meta", "_journal.json"), "utf8"));
  } catch (error) {
    throw postgresErrors.create(
      "TF_POSTGRES_MIGRATIONS_MISSING",
      { folder: path, problem: "cannot read meta/_journal.json (run drizzle-kit generate)" },
      { cause: error },
    );
  }
  return (journal.entries ?? []).map((entry) => {
    const file = `${entry.tag}.sql`;
    try {
      return { tag: entry.tag, file, when: entry.when, text: readFileSync(join(path, file), "utf8") };
    } catch (error) {
      throw postgresErrors.create(
        "TF_POSTGRES_MIGRATIONS_MISSING",
        { folder: path, problem: `the journal lists ${quote(file)}, which cannot be read` },
        { cause: error },
      );
    }
  });
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function rowsOf<T>(db: Drizzle<Schema>, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

async function statusOn(
  db: Drizzle<Schema>,
  files: readonly JournalFile[],
  table: { schema: string; name: string },
): Promise<MigrationStatus> {
  const qualified = `${table.schema}.${table.name}`;
  const [exists] = await rowsOf<{ found: string | null }>(db, sql`select to_regclass(${qualified})::text as found`);
  const records = exists?.found
    ? await rowsOf<{ hash: string; created_at: string | number }>(
        db,
        sql`select hash, created_at from ${sql.identifier(table.schema)}.${sql.identifier(table.name)} order by created_at`,
      )
    : [];
  const recorded = new Map(records.map((r) => [Number(r.created_at), r.hash]));
  const last = records.length > 0 ? Math.max(...recorded.keys()) : Number.NEGATIVE_INFINITY;
  const status = {
    applied: [] as MigrationInfo[],
    pending: [] as MigrationInfo[],
    changed: [] as MigrationInfo[],
    skipped: [] as MigrationInfo[],
  };
  for (const file of files) {
    const info: MigrationInfo = { tag: file.tag, file: file.file, when: file.when };
    const hash = recorded.get(file.when);
    if (hash !== undefined) {
      status.applied.push(info);
      if (hash !== (await sha256(file.text))) status.changed.push(info);
    } else if (file.when > last) status.pending.push(info);
    else status.skipped.push(info);
  }
  return status;
}

async function connectionFor(target: Database<Schema> | string, logger: Logger): Promise<DriverConnection> {
  return typeof target === "string" ? connectPostgresJs(target, logger) : dedicatedConnection(target);
}

/** Takes the migration lock (a session advisory lock on this connection), polling so `signal` can stop the wait. */
async function lock(
  connection: DriverConnection,
  key: string,
  options: MigrationOptions,
  logger: Logger,
): Promise<void> {
  let told = false;
  for (;;) {
    const [row] = await rowsOf<{ locked: boolean }>(
      connection.drizzle,
      sql`select pg_try_advisory_lock(hashtext(${key})) as locked`,
    );
    if (row?.locked) return;
    if (!told) {
      logger.info("waiting for the migration lock: another migrate is running");
      told = true;
    }
    options.signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    options.signal?.throwIfAborted();
  }
}

/** Names the file whose statement failed (drizzle's error carries the statement as `query`). */
function failedFile(error: unknown, files: readonly JournalFile[]): JournalFile | undefined {
  let current: unknown = error;
  while (current instanceof Error) {
    const query = (current as { query?: unknown }).query;
    if (typeof query === "string") {
      const statement = query.trim();
      return files.find((f) => f.text.split("--> statement-breakpoint").some((s) => s.trim() === statement));
    }
    current = current.cause;
  }
  return undefined;
}

/**
 * Applies the pending migrations with drizzle's migrator, on a connection of its own, under a
 * PostgreSQL advisory lock held on that connection: concurrent runs (four replicas starting, a
 * deploy job and a developer) wait for each other, and each migration applies once. drizzle's
 * migrator takes no lock of its own (drizzle-team/drizzle-orm#874): without one, concurrent runs
 * on a fresh database fail, and a data migration runs once per run.
 *
 * All pending files run in one transaction: when one fails, none is applied, and the error names
 * the file. `target` is the app's Database (PGlite too) or a DATABASE_URL.
 *
 * @example
 * ```ts
 * const { applied } = await migrate(get(Database), { migrations: new URL("../migrations", import.meta.url) });
 * ```
 */
export async function migrate(target: Database<Schema> | string, options: MigrationOptions): Promise<MigrateResult> {
  const logger = options.logger ?? noopLogger;
  const files = readJournal(options.migrations);
  const table = { schema: options.migrationsSchema ?? DEFAULT_SCHEMA, name: options.migrationsTable ?? DEFAULT_TABLE };
  options.signal?.throwIfAborted();
  const connection = await connectionFor(target, logger);
  const onAbort = () => void connection.abort().catch(() => {});
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const key = `twelvefold:migrate:${table.schema}.${table.name}`;
  let locked = false;
  try {
    await lock(connection, key, options, logger);
    locked = true;
    const before = await statusOn(connection.drizzle, files, table);
    if (before.pending.length > 0) {
      const config: MigrationConfig = {
        migrationsFolder: folderPath(options.migrations),
        migrationsSchema: table.schema,
        migrationsTable: table.name,
      };
      try {
        const migrator =
          connection.driver === "pglite"
            ? (await import("drizzle-orm/pglite/migrator")).migrate
            : (await import("drizzle-orm/postgres-js/migrator")).migrate;
        await migrator(connection.drizzle as never, config);
      } catch (error) {
        options.signal?.throwIfAborted();
        const file = failedFile(error, files);
        const cause = databaseError(error, connection.target) ?? error;
        const reason = cause instanceof Error ? cause.message.replace(/^postgres: /, "") : String(cause);
        throw postgresErrors.create(
          "TF_POSTGRES_MIGRATION",
          { file: file?.file ?? "(unknown file)", reason, pending: before.pending.length },
          { cause, file: file?.file },
        );
      }
    }
    const after = await statusOn(connection.drizzle, files, table);
    const was = new Set(before.applied.map((m) => m.tag));
    const applied = after.applied.filter((m) => !was.has(m.tag));
    for (const m of applied) logger.info("migration applied", { file: m.file });
    if (applied.length === 0) logger.info("migrations up to date", { applied: after.applied.length });
    return { applied, status: after };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    if (locked) {
      // A cut connection has lost the lock with the session already.
      await rowsOf(connection.drizzle, sql`select pg_advisory_unlock(hashtext(${key}))`).catch(() => {});
    }
    await connection.end();
  }
}

/**
 * Lists the applied and pending migrations (and the applied files that changed since, and those
 * drizzle would skip), without applying anything or taking the lock.
 *
 * @example
 * ```ts
 * const { pending } = await migrationStatus("postgres://app@db:5432/app", { migrations: "./migrations" });
 * ```
 */
export async function migrationStatus(
  target: Database<Schema> | string,
  options: MigrationOptions,
): Promise<MigrationStatus> {
  const files = readJournal(options.migrations);
  const table = { schema: options.migrationsSchema ?? DEFAULT_SCHEMA, name: options.migrationsTable ?? DEFAULT_TABLE };
  const connection = await connectionFor(target, options.logger ?? noopLogger);
  try {
    return await statusOn(connection.drizzle, files, table);
  } finally {
    await connection.end();
  }
}

/**
 * Renders a status as `migrate --status` prints it: one line per file, oldest first.
 *
 * @example
 * ```ts
 * const text = formatMigrationStatus(await migrationStatus(db, { migrations }));
 * // applied  0000_init.sql
 * // pending  0001_add_memory.sql
 * // 1 applied, 1 pending
 * ```
 */
export function formatMigrationStatus(status: MigrationStatus): string {
  const rows = [
    ...status.applied.map((m) => ({ m, state: status.changed.includes(m) ? "changed" : "applied" })),
    ...status.skipped.map((m) => ({ m, state: "skipped" })),
    ...status.pending.map((m) => ({ m, state: "pending" })),
  ].sort((a, b) => a.m.when - b.m.when);
  if (rows.length === 0) return "no migrations";
  const lines = rows.map(({ m, state }) => `${state.padEnd(8)} ${m.file}`);
  lines.push(`${status.applied.length} applied, ${status.pending.length} pending`);
  return lines.join("\n");
}
