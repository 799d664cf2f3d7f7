// Starts an app with the redis plugin and no REDIS_URL, then prints whether node-redis was loaded
// and the app's log lines: a process of its own, since one test process shares one module registry.
import { createApp } from "@twelvefold/kernel";
import { redis } from "../mod.ts";

const lines: string[] = [];
const app = createApp({
  name: "no-url",
  plugins: [redis()],
  env: { ENVIRONMENT: "development", LOG_LEVEL: "info", LOG_FORMAT: "json" },
  log: (line) => lines.push(line),
});
await app.start();
await app.stop();
const loaded = Object.keys(require.cache).some((path) => path.includes("@redis/client"));
process.stdout.write(`${JSON.stringify({ loaded, lines: lines.map((line) => JSON.parse(line)) })}\n`);
