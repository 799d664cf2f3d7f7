// One migrate run as a process of its own, for the concurrency test: `bun migrate-process.ts <DATABASE_URL>`.
// Prints the files it applied as one JSON line, and exits 1 with the error's message when it fails.
import { migrate } from "../../mod.ts";

const url = process.argv[2] ?? "";
try {
  const { applied } = await migrate(url, { migrations: new URL("./migrations", import.meta.url) });
  process.stdout.write(`${JSON.stringify({ applied: applied.map((m) => m.file) })}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
