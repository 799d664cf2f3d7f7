// A worker process for the fault tests: the redis plugin and one consumer of TOPIC whose jobs take
// JOB_MS. It prints one JSON line per job event, beside the app's own log lines.
import { createApp, definePlugin, Queue } from "@twelvefold/kernel";
import { redis } from "../mod.ts";

const { TOPIC = "jobs", JOB_MS = "0", CONCURRENCY = "1", VISIBILITY_MS = "1000" } = process.env;
const say = (event: string, fields: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ event, pid: process.pid, ...fields })}\n`);

const worker = definePlugin({
  name: "test-worker",
  requires: [Queue],
  start({ get, onDrain }) {
    const consumer = get(Queue).consume(
      TOPIC,
      async (message, signal) => {
        say("started", { id: message.id, attempt: message.attempt });
        // Work that does not listen to its signal, so a late finish really happens.
        await new Promise((resolve) => setTimeout(resolve, Number(JOB_MS)));
        say(signal.aborted ? "finished-without-lease" : "finished", { id: message.id, attempt: message.attempt });
      },
      { concurrency: Number(CONCURRENCY), visibilityTimeoutMs: Number(VISIBILITY_MS) },
    );
    onDrain((deadline) => consumer.stop({ signal: deadline }));
    say("ready", {});
  },
});

await createApp({
  name: "fault-worker",
  plugins: [redis(), worker],
  env: {
    ENVIRONMENT: "development",
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    REDIS_URL: process.env.REDIS_URL,
    REDIS_KEY_PREFIX: process.env.REDIS_KEY_PREFIX,
  },
}).run();
