/**
 * One process of the durability tests: `bun process.ts web` or `bun process.ts worker`, on Redis
 * (REDIS_URL, REDIS_KEY_PREFIX). Its `remember` tool logs every call to the `test:tool-calls` log
 * and its effect, once per idempotency key (a Lock taken for good), to `test:effects`, so the test
 * counts calls and effects across processes. TOOL_HOLD_MS holds the tool after its effect.
 */
import { http } from "@twelvefold/http";
import { createApp, definePlugin, EventLog, Lock, type ProcessType, worker } from "@twelvefold/kernel";
import { Agent, defineTool, llm } from "@twelvefold/llm";
import { redis } from "@twelvefold/redis";
import * as v from "valibot";
import { agent } from "../src/plugin.ts";
import { routes, startRoute } from "./helpers.ts";

const role = (process.argv[2] ?? "web") as ProcessType;
let services: { readonly lock: Lock; readonly log: EventLog } | undefined;

const effects = definePlugin({
  name: "effects",
  requires: [Lock, EventLog],
  start({ get }) {
    services = { lock: get(Lock), log: get(EventLog) };
  },
});

const remember = defineTool({
  name: "remember",
  description: "Remembers a fact for later",
  input: v.object({ fact: v.string() }),
  sideEffects: true,
  async run({ fact }, { idempotencyKey, signal }) {
    const { lock, log } = services as NonNullable<typeof services>;
    await log.append("test:tool-calls", JSON.stringify({ key: idempotencyKey, pid: process.pid }));
    if (await lock.acquire(`test:effect:${idempotencyKey}`, 600_000)) await log.append("test:effects", fact);
    const hold = Number(process.env.TOOL_HOLD_MS ?? "0");
    if (hold > 0) await Bun.sleep(hold);
    signal.throwIfAborted();
    return { result: `noted: ${fact}` };
  },
});

await createApp({
  name: "agent-durability",
  process: role,
  plugins: [redis(), http(), llm(), worker(), effects, agent({ loop: Agent, tools: [remember], routes }), startRoute()],
}).run();
