/**
 * The database of the app's tests: one PGlite per test process, in a folder of its own (not the
 * shared `memory://` one, which other packages' tests in the same process migrate with their own
 * schemas), kept open by one app for the whole process. Each test uses subjects of its own
 * (`owner()`), so none sees another's rows.
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testApp } from "@twelvefold/testing";
import { AgentDatabase, type AgentDrizzle, database } from "../database.ts";

/** PGLITE_DATA_DIR of every app the tests of this process boot. */
export const TEST_PGLITE_DIR = join(tmpdir(), `agent-tests-${process.pid}`);
process.once("exit", () => rmSync(TEST_PGLITE_DIR, { recursive: true, force: true }));

let shared: Promise<AgentDrizzle> | undefined;

/** The shared test database, migrated. */
export function testDatabase(): Promise<AgentDrizzle> {
  shared ??= testApp({ plugins: [database()], env: { PGLITE_DATA_DIR: TEST_PGLITE_DIR } }).then(
    (t) => t.get(AgentDatabase).drizzle,
  );
  return shared;
}

/** A subject no other test uses. */
export function owner(label = "user"): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}
