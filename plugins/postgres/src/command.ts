import { defineCommand, env } from "@twelvefold/kernel";
import * as v from "valibot";
import { Database } from "./database.ts";
import { postgresErrors } from "./errors.ts";
import { formatMigrationStatus, migrate, migrationStatus } from "./migrate.ts";

/**
 * `admin migrate`: applies the pending migrations under the migration lock and prints the files
 * it applied; `admin migrate --status` prints every file as applied, pending, changed or skipped
 * and applies nothing. SIGTERM cuts the migration's connection: the server rolls it back, and the
 * process exits 143. A failing file exits 1, naming it.
 */
export function migrateCommand(migrations: string | URL | undefined) {
  return defineCommand({
    name: "migrate",
    description: "Apply pending database migrations under the migration lock (--status lists applied and pending)",
    args: v.object({ status: v.optional(env.boolean(), "false") }),
    async run({ args, get, signal, logger, print }) {
      if (migrations === undefined) {
        throw postgresErrors.create("TF_POSTGRES_MIGRATIONS_MISSING", {
          problem: "the app gave the postgres plugin no folder: postgres({ migrations: new URL(...) })",
        });
      }
      const db = get(Database);
      if (args.status) {
        print(formatMigrationStatus(await migrationStatus(db, { migrations, signal })));
        return;
      }
      const { applied, status } = await migrate(db, { migrations, signal, logger });
      const lines = applied.map((m) => `applied  ${m.file}`);
      lines.push(`${status.applied.length} applied, ${status.pending.length} pending`);
      print(lines.join("\n"));
    },
  });
}
