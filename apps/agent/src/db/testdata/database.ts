/**
 * The database of the app's tests: one embedded PGlite (memory://) per test process, shared by
 * every test file, each test on subjects of its own (`owner()`), so none sees another's rows.
 */
import { testApp } from "@twelvefold/testing";
import type { AgentDrizzle } from "../database.ts";
import { AgentDatabase, database } from "../database.ts";

let shared: Promise<AgentDrizzle> | undefined;

/** The shared test database, migrated. */
export function testDatabase(): Promise<AgentDrizzle> {
  shared ??= testApp({ plugins: [database()] }).then((t) => t.get(AgentDatabase).drizzle);
  return shared;
}

/** A subject no other test uses. */
export function owner(label = "user"): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}
