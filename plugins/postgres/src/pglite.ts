import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { PGlite, Results, Transaction } from "@electric-sql/pglite";
import type { Logger } from "@twelvefold/kernel";
import type { Driver, DriverConnection, Drizzle, Schema } from "./driver.ts";
import { toDatabaseError } from "./errors.ts";
import { type FolderLock, lockFolder } from "./folder-lock.ts";
import { QueryInstruments } from "./instrument.ts";
import { type TemplateStore, templateStore } from "./template.ts";

/** What the PGlite adapter needs. */
export interface PgliteSettings {
  /** A folder, or `memory://`. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** Where the initdb template is kept (default: the machine's temp folder). */
  readonly templates?: TemplateStore;
  /**
   * Keep an in-memory PGlite open, reset, when its last app stops, for the next app of the process
   * (the testing profile: one instance per test process). An open PGlite keeps the process alive,
   * so elsewhere it is closed with its last app.
   */
  readonly keep?: boolean;
}

export const MEMORY = "memory://";

/** One PGlite per data folder per process, shared by the apps that use it there. */
interface Instance {
  /** Its entry in {@link instances}. */
  readonly key: string;
  readonly pg: PGlite;
  readonly memory: boolean;
  /** Reset and kept, not closed, when the last app lets go (see {@link PgliteSettings.keep}). */
  readonly keep: boolean;
  readonly label: string;
  readonly lock: FolderLock | undefined;
  refs: number;
  /** The reset after its last app let go, which the next app waits for. */
  reset: Promise<void>;
  /** Serialises dedicated use (migrations): PGlite has a single session, so an advisory lock cannot. */
  exclusive: Promise<void>;
}

const instances = new Map<string, Promise<Instance>>();

/**
 * Opens (or joins) the process's PGlite for `dataDir`, shared by the apps of the process that use
 * it at once. In the testing profile `memory://` is kept when the last app lets go, reset to an
 * empty database, so tests share one instance per test process and still start each app on an
 * empty database. A folder is locked against other processes, and closed with its last app.
 */
async function acquire(settings: PgliteSettings): Promise<Instance> {
  const memory = settings.dataDir === MEMORY;
  // A kept instance outlives its apps; one that closes with them is another instance.
  const key = memory ? `${MEMORY}${settings.keep ? "kept" : ""}` : resolve(settings.dataDir);
  let entry = instances.get(key);
  if (!entry) {
    entry = open(settings, { memory, key });
    instances.set(key, entry);
    entry.catch(() => instances.delete(key));
  }
  const instance = await entry;
  instance.refs++;
  await instance.reset;
  return instance;
}

async function open(settings: PgliteSettings, { memory, key }: { memory: boolean; key: string }): Promise<Instance> {
  const folder = resolve(settings.dataDir);
  const { PGlite } = await import("@electric-sql/pglite");
  const templates = settings.templates ?? templateStore();
  const began = performance.now();
  const lock = memory ? undefined : lockFolder(folder);
  try {
    const initialised = !memory && existsSync(`${folder}/PG_VERSION`);
    const template = initialised ? undefined : templates.load();
    const dataDir = memory ? undefined : folder;
    let pg: PGlite | undefined;
    let from = initialised ? "folder" : "template";
    if (template) {
      pg = await PGlite.create({ dataDir, loadDataDir: template }).catch((error: unknown) => {
        settings.logger.warn("pglite template unusable: starting from scratch", { template: templates.path, error });
        return undefined;
      });
    }
    if (!pg) {
      if (!initialised) from = "initdb";
      pg = await PGlite.create({ dataDir });
      if (memory) {
        // The first in-memory start on this machine pays for initdb once; later ones load its result.
        await templates.save(await pg.dumpDataDir("gzip")).catch((error: unknown) => {
          settings.logger.warn("pglite template not saved", { template: templates.path, error });
        });
      }
    }
    settings.logger.info("pglite opened", {
      data_dir: memory ? MEMORY : settings.dataDir,
      from,
      duration_ms: Math.round(performance.now() - began),
    });
    const label = memory ? "PGlite in memory" : `PGlite ${settings.dataDir}`;
    const keep = memory && settings.keep === true;
    return { key, pg, memory, keep, label, lock, refs: 0, reset: Promise.resolve(), exclusive: Promise.resolve() };
  } catch (error) {
    lock?.release();
    throw error;
  }
}

// Drops every schema an app made and restores `public`, so the next app of the process starts on
// an empty database without paying for a new instance.
const RESET = `
DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'
  LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP;
END $$;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
SELECT pg_advisory_unlock_all();
RESET ALL;`;

async function release(instance: Instance): Promise<void> {
  instance.refs--;
  if (instance.refs > 0) return;
  if (instance.keep) {
    instance.reset = instance.pg.exec(RESET).then(() => {});
    await instance.reset;
    return;
  }
  // Gone from the map before anything awaits: an app starting now opens a new instance.
  instances.delete(instance.key);
  try {
    await instance.pg.close();
  } finally {
    instance.lock?.release();
  }
}

/** The part of PGlite drizzle uses: `query` and, outside transactions, `transaction`. */
interface Client {
  query<T>(text: string, params?: unknown[], options?: object): Promise<Results<T>>;
  transaction<T>(fn: (tx: Client) => Promise<T>): Promise<T>;
}

/** What a watched client reports to, and whether it runs inside a transaction. */
interface Watch {
  readonly instruments: QueryInstruments;
  readonly target: string;
  readonly inTransaction?: boolean;
}

function watched(pg: PGlite | Transaction, watch: Watch): Client {
  const { instruments, target, inTransaction = false } = watch;
  return {
    query<T>(text: string, params?: unknown[], options?: object) {
      const done = instruments.query(text, inTransaction);
      return pg.query<T>(text, params, options).then(
        (result) => {
          done();
          return result;
        },
        (error: unknown) => {
          const mapped = toDatabaseError(error, target);
          done(mapped);
          throw mapped;
        },
      );
    },
    async transaction<T>(fn: (tx: Client) => Promise<T>): Promise<T> {
      const ended = instruments.transaction();
      try {
        return await (pg as PGlite).transaction((tx) => fn(watched(tx, { instruments, target, inTransaction: true })));
      } finally {
        ended();
      }
    },
  };
}

/** Opens the Database's PGlite driver (the embedded default when DATABASE_URL is unset). */
export async function openPglite(settings: PgliteSettings, schema: Schema | undefined): Promise<Driver> {
  const instance = await acquire(settings);
  const { drizzle } = await import("drizzle-orm/pglite");
  const instruments = new QueryInstruments({ namespace: "postgres" }, 1);
  const target = instance.label;
  const db = drizzle({ client: watched(instance.pg, { instruments, target }) as unknown as PGlite, schema });
  (db as { $client: unknown }).$client = instance.pg;
  let closed = false;
  return {
    name: "pglite",
    drizzle: db as unknown as Drizzle<Schema>,
    namespace: "postgres",
    target,
    instruments,
    async ping() {
      try {
        await instance.pg.query("select 1");
      } catch (error) {
        throw toDatabaseError(error, target);
      }
    },
    async dedicated(): Promise<DriverConnection> {
      let unlock = () => {};
      const turn = new Promise<void>((resolveTurn) => {
        unlock = resolveTurn;
      });
      const previous = instance.exclusive;
      instance.exclusive = previous.then(() => turn);
      await previous;
      const client = watched(instance.pg, { instruments: instruments.fork(1), target }) as unknown as PGlite;
      return {
        driver: "pglite",
        drizzle: drizzle({ client }) as unknown as Drizzle<Schema>,
        target,
        // A PGlite statement cannot be interrupted; the work in hand finishes.
        async abort() {},
        async end() {
          unlock();
        },
      };
    },
    async close(timeoutMs) {
      if (closed) return;
      closed = true;
      await instruments.idle(AbortSignal.timeout(timeoutMs));
      await release(instance);
    },
  };
}
