/**
 * Interim: the app's database on an embedded PGlite, until the postgres plugin (issue 15) lands
 * on main and provides the Database token; this file goes then. It keeps to what the app needs:
 * one PGlite per data folder per process, the migrations applied at start.
 */
import { definePlugin, env, type Plugin, token } from "@twelvefold/kernel";
import * as v from "valibot";
import { type AgentDrizzle, MIGRATIONS } from "./database.ts";
import * as schema from "./schema.ts";

/** The app's database handle. */
export interface AgentDatabase {
  readonly drizzle: AgentDrizzle;
}

/** The app's database. */
export const AgentDatabase = token<AgentDatabase>("agent/Database");

const opened = new Map<string, Promise<AgentDatabase>>();

async function open(dataDir: string): Promise<AgentDatabase> {
  const [{ PGlite }, { drizzle }, { migrate }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
  ]);
  const memory = dataDir === "memory://";
  if (!memory) await (await import("node:fs/promises")).mkdir(dataDir, { recursive: true });
  const client = new PGlite(memory ? undefined : dataDir);
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: decodeURIComponent(MIGRATIONS.pathname) });
  return { drizzle: db as unknown as AgentDrizzle };
}

/** The embedded database plugin (interim). */
export function embeddedDatabase(): Plugin {
  return definePlugin({
    name: "database",
    config: { PGLITE_DATA_DIR: v.optional(env.string({ minLength: 1 }), ".data/pglite") },
    defaults: { testing: { PGLITE_DATA_DIR: "memory://" } },
    provides: [AgentDatabase],
    startTimeoutMs: 60_000,
    async start({ config, provide }) {
      let database = opened.get(config.PGLITE_DATA_DIR);
      if (!database) {
        database = open(config.PGLITE_DATA_DIR);
        opened.set(config.PGLITE_DATA_DIR, database);
        database.catch(() => opened.delete(config.PGLITE_DATA_DIR));
      }
      provide(AgentDatabase, await database);
    },
  });
}
