import {
  AppInfo,
  type ConfigOptions,
  definePlugin,
  Meter,
  markEmbedded,
  type Plugin,
  type Token,
  Tracer,
} from "@twelvefold/kernel";
import { migrateCommand } from "./command.ts";
import { postgresConfig, postgresDefaults } from "./config.ts";
import { beforeAbort, createDatabase, Database } from "./database.ts";
import type { Driver, Schema } from "./driver.ts";
import { postgresErrors } from "./errors.ts";
import { migrate } from "./migrate.ts";
import { openPglite } from "./pglite.ts";
import { openPostgresJs } from "./postgres-js.ts";

/**
 * Options of {@link postgres}: the app's schema and migrations, and config values (the top config
 * layer: validated like the environment, secrets masked, `postgres({ DATABASE_POOL_SIZE: 4 })`).
 */
export type PostgresOptions<S extends Schema> = ConfigOptions<typeof postgresConfig> & {
  /** The app's drizzle schema (`import * as schema from "./schema.ts"`): types `drizzle.query.*`. */
  readonly schema?: S;
  /** drizzle-kit's output folder, applied by `admin migrate` and, where DATABASE_MIGRATE_ON_START is on, at start. */
  readonly migrations?: string | URL;
};

/** The postgres plugin, with the Database token typed by the app's schema. */
export interface PostgresPlugin<S extends Schema> extends Plugin {
  /** The {@link Database} token itself, typed with this plugin's schema: `get(db.Database).drizzle.query.users`. */
  readonly Database: Token<Database<S>>;
  /** The migrations folder given to the factory, for `migrate` and `migrationStatus`. */
  readonly migrations: string | URL | undefined;
}

/**
 * The postgres plugin: provides {@link Database}, drizzle over a postgres.js pool when
 * DATABASE_URL is set, and over the embedded PGlite when it is not (persisted in PGLITE_DATA_DIR;
 * refused by the production profile). Start makes one round trip, so an unreachable server fails
 * the start with its `host:port`; with DATABASE_MIGRATE_ON_START the pending migrations are applied
 * then (never in an admin process: `admin migrate` does it there), under the migration lock. Every
 * query is a span when a Tracer is registered, and its duration goes to
 * `db_client_operation_duration_seconds` when a Meter is. At stop, running queries get
 * SHUTDOWN_TIMEOUT_MS before the pool ends. It adds the admin command `migrate` (`--status`).
 *
 * @example
 * ```ts
 * import { createApp } from "@twelvefold/kernel";
 * import { postgres } from "@twelvefold/postgres";
 * import * as schema from "./schema.ts";
 *
 * export const database = postgres({ schema, migrations: new URL("../migrations", import.meta.url) });
 * await createApp({ name: "agent", plugins: [database] }).run(); // bun main.ts web | admin migrate
 * ```
 */
export function postgres<S extends Schema = Record<string, never>>(
  options: PostgresOptions<S> = {},
): PostgresPlugin<S> {
  const { schema, migrations, ...settings } = options;
  const plugin = definePlugin({
    name: "postgres",
    config: postgresConfig,
    options: settings,
    defaults: postgresDefaults,
    optional: [Tracer],
    late: [Meter],
    provides: [Database],
    commands: [migrateCommand(migrations)],
    async start({ config, logger, signal, profile, processes, get, find, provide, onReady, onStop }) {
      let driver: Driver;
      if (config.DATABASE_URL) {
        driver = openPostgresJs(
          {
            url: config.DATABASE_URL,
            poolSize: config.DATABASE_POOL_SIZE,
            connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
            statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
            idleTimeoutS: config.DATABASE_IDLE_TIMEOUT_S,
            applicationName: get(AppInfo).name,
            logger,
          },
          schema,
        );
      } else {
        driver = await openPglite({ dataDir: config.PGLITE_DATA_DIR, logger, keep: profile === "testing" }, schema);
      }
      onStop(() => driver.close(config.SHUTDOWN_TIMEOUT_MS));
      driver.instruments.useTracer(find(Tracer));

      // One round trip now: an unreachable server fails the start, naming host:port, not the first request.
      const connectMs = config.DATABASE_CONNECT_TIMEOUT_MS;
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(connectMs + 1_000)]);
      await beforeAbort(driver.ping(deadline), deadline, () =>
        postgresErrors.create("TF_POSTGRES_TIMEOUT", {
          server: driver.target,
          during: "connect",
          detail: `no answer within ${connectMs} ms`,
        }),
      );

      const database = createDatabase<S>(driver, config.DATABASE_HEALTH_TIMEOUT_MS);
      if (driver.name === "pglite") markEmbedded(database, { name: "embedded PGlite Database", losesData: true });
      // An admin process migrates only when asked: `admin migrate --status` must apply nothing.
      if (config.DATABASE_MIGRATE_ON_START && migrations !== undefined && !processes.has("admin")) {
        await migrate(database, { migrations, logger, signal });
      }
      provide(Database, database as unknown as Database<Schema>);
      onReady(() => driver.instruments.useMeter(find(Meter)));
      logger.info("database connected", {
        driver: driver.name,
        target: driver.target,
        ...(driver.name === "postgres" ? { pool_size: config.DATABASE_POOL_SIZE } : {}),
      });
    },
    health({ get, signal }) {
      return get(Database).health({ signal });
    },
  });
  return Object.assign(plugin, { Database: Database as unknown as Token<Database<S>>, migrations });
}
