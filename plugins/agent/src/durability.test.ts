// Real processes on real Redis: a worker SIGKILLed mid-run and the run finishing on another, and a
// web process SIGTERMed mid-stream and the client resuming on a second one.
import { afterAll, describe, expect, test } from "bun:test";
import { connectRedis } from "@twelvefold/redis";
import { requireService } from "../../../test/services.ts";
import { clientText, eventsOf, type Frame, REDIS_URL, readFrames, removeKeys, uniquePrefix } from "../test/helpers.ts";
import { type Spawned, spawnApp } from "../test/spawn.ts";

const redisUp = await requireService("Redis", REDIS_URL);
const prefixes: string[] = [];
const spawned: Spawned[] = [];

afterAll(async () => {
  for (const app of spawned) app.child.kill("SIGKILL");
  if (redisUp && prefixes.length > 0) await removeKeys(prefixes);
});

/** Starts processes sharing one fresh key prefix. */
async function cluster(roles: ReadonlyArray<"web" | "worker">, env: Record<string, string>) {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const shared = {
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    WORKER_VISIBILITY_TIMEOUT_MS: "1000",
    AGENT_LOCK_TTL_MS: "1000",
    ...env,
  };
  const apps = await Promise.all(roles.map((role) => spawnApp(role, shared)));
  spawned.push(...apps);
  return { apps, prefix };
}

/** Reads a test log of the durability app (its tool's calls and effects), straight from Redis. */
async function testLog(prefix: string, name: string): Promise<string[]> {
  const connection = await connectRedis({ url: REDIS_URL });
  try {
    const entries = await connection.send<Array<[string, string[]]>>(
      ["XRANGE", `${prefix}log:${name}`, "-", "+"],
      "test",
    );
    return entries.map(([, fields]) => fields[1] as string);
  } finally {
    await connection.close();
  }
}

const start = (web: Spawned, text: string) =>
  fetch(`http://127.0.0.1:${web.port}/runs`, {
    method: "POST",
    headers: { accept: "text/event-stream" },
    body: JSON.stringify({ text }),
  });

/** The worker that logged taking run `runId` up most recently. */
async function holder(workers: readonly Spawned[], runId: string): Promise<Spawned> {
  const taken = (l: Record<string, unknown>) => l.message === "agent: working on a run" && l.run_id === runId;
  return Promise.any(
    workers.map(async (w) => {
      await w.line(taken);
      return w;
    }),
  );
}

describe.if(redisUp)("durable runs across processes, on Redis", () => {
  test("a worker SIGKILLed mid-turn: another worker finishes the run, the effect counts once, the client shows no text twice", async () => {
    const { apps, prefix } = await cluster(["web", "worker", "worker"], { LLM_LOCAL_TOKEN_DELAY_MS: "60" });
    const [web, ...workers] = apps as [Spawned, Spawned, Spawned];
    const response = await start(web, "Remember that the launch code is 1234.");
    const runId = response.headers.get("x-run-id") as string;
    const first = await holder(workers, runId);
    const frames: Frame[] = [];
    let killed = false;
    await readFrames(response, {
      onFrame: (frame) => {
        frames.push(frame);
        const answer = eventsOf(frames).filter((e) => e.type === "text" && e.step === 1);
        if (!killed && answer.length >= 2) {
          killed = true;
          first.child.kill("SIGKILL");
        }
      },
    });
    expect(killed).toBe(true);
    expect(await first.exited).not.toBe(0);
    const events = eventsOf(frames);
    const done = events.at(-1) as { type: string; text?: string };
    expect(done).toMatchObject({ type: "done", text: "I will remember that the launch code is 1234." });
    // The cut turn was retracted, so the client's view has the answer once.
    expect(events.some((e) => e.type === "reset" && e.step === 1)).toBe(true);
    expect(clientText(events)).toBe(done.text as string);
    const other = workers.find((w) => w !== first) as Spawned;
    expect(other.lines.some((l) => l.message === "agent: working on a run" && l.run_id === runId)).toBe(true);
    expect(await testLog(prefix, "test:effects")).toEqual(["the launch code is 1234"]);
    expect(await testLog(prefix, "test:tool-calls")).toHaveLength(1);
  }, 60_000);

  test("a worker SIGKILLed between a tool's effect and its result: the resumed run repeats the call with the same key, and the effect counts once", async () => {
    const { apps, prefix } = await cluster(["web", "worker", "worker"], { TOOL_HOLD_MS: "1500" });
    const [web, ...workers] = apps as [Spawned, Spawned, Spawned];
    const response = await start(web, "Remember that the boat leaves at noon.");
    const runId = response.headers.get("x-run-id") as string;
    const first = await holder(workers, runId);
    const reading = readFrames(response);
    for (let i = 0; (await testLog(prefix, "test:effects")).length === 0; i++) {
      if (i > 400) throw new Error("the tool never ran");
      await Bun.sleep(25);
    }
    first.child.kill("SIGKILL");
    const events = eventsOf(await reading);
    expect(events.at(-1)).toMatchObject({ type: "done", text: "I will remember that the boat leaves at noon." });
    const calls = (await testLog(prefix, "test:tool-calls")).map((c) => JSON.parse(c) as { key: string; pid: number });
    expect(calls).toHaveLength(2);
    expect(calls[0]?.key).toBe(calls[1]?.key as string);
    expect(calls[0]?.pid).not.toBe(calls[1]?.pid as number);
    expect(await testLog(prefix, "test:effects")).toEqual(["the boat leaves at noon"]);
    expect(events.filter((e) => e.type === "tool_result")).toHaveLength(1);
    expect(clientText(events)).toBe("I will remember that the boat leaves at noon.");
  }, 60_000);

  test("a web process SIGTERMed mid-stream ends it with retry:, exits 0, and the client resumes on a second web process with nothing lost", async () => {
    const { apps } = await cluster(["web", "web", "worker"], {
      LLM_LOCAL_TOKEN_DELAY_MS: "40",
      AGENT_SSE_RETRY_MS: "300",
    });
    const [one, two] = apps as [Spawned, Spawned, Spawned];
    const response = await start(one, "Tell me everything you know about the weather in Paris in the spring, please");
    const runId = response.headers.get("x-run-id") as string;
    const frames: Frame[] = [];
    let signalled = false;
    await readFrames(response, {
      onFrame: (frame) => {
        frames.push(frame);
        // Once: a second SIGTERM tells the process to exit without finishing its drain.
        if (!signalled && eventsOf(frames).length === 3) {
          signalled = true;
          one.child.kill("SIGTERM");
        }
      },
    });
    expect(frames.at(-1)).toEqual({ retry: 300 });
    expect(await one.exited).toBe(0);
    const head = eventsOf(frames);
    expect(head.at(-1)?.type).toBe("text");
    const url = `http://127.0.0.1:${two.port}/agent/runs/${runId}/events`;
    const rest = eventsOf(
      await readFrames(await fetch(url, { headers: { "last-event-id": head.at(-1)?.id as string } })),
    );
    const all = eventsOf(await readFrames(await fetch(url)));
    expect([...head, ...rest]).toEqual(all);
    expect(all.at(-1)?.type).toBe("done");
    expect(clientText(all)).toBe((all.at(-1) as { text?: string }).text as string);
  }, 60_000);
});
