import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "./schema.ts";

/** The app's drizzle handle, typed by its schema; a transaction is one too. */
export type AgentDrizzle = PgDatabase<PgQueryResultHKT, typeof schema>;

/** drizzle-kit's output folder, applied by `admin migrate` and, in development and testing, at start. */
export const MIGRATIONS = new URL("../../migrations", import.meta.url);
