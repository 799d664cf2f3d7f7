// The engine on the memory adapters, driven by hand: an attempt is stopped at a chosen point, as
// a worker dying there would leave it, and the next attempt must carry the run on from the log.
import { describe, expect, test } from "bun:test";
import { createLogger, type EventLog, token } from "@twelvefold/kernel";
import { memoryCache, memoryEventLog, memoryLock } from "@twelvefold/kernel/memory";
import { cacheToolResults, localModel, runAgent } from "@twelvefold/llm";
import { clientText, memoryTool } from "../test/helpers.ts";
import { approvalSigner } from "./approval.ts";
import { RunEngine } from "./engine.ts";
import { parseEvent, runLog } from "./events.ts";
import type { AgentLoop, RunTools } from "./loop.ts";
import { type AgentRuns, createRuns } from "./runs.ts";

const logger = createLogger({ level: "silent", write: () => {} });

interface Rig {
  readonly log: EventLog;
  readonly engine: RunEngine;
  readonly runs: AgentRuns;
  start(text: string): Promise<string>;
  events(runId: string): Promise<Array<{ type: string; [field: string]: unknown }>>;
}

/** An engine over memory adapters with the llm plugin's loop and local model; `log` may be wrapped. */
async function rig(options: {
  tools?: RunTools;
  wrapLog?: (log: EventLog) => EventLog;
  tokenDelayMs?: number;
  maxSteps?: number;
  loop?: AgentLoop;
  lockTtlMs?: number;
}): Promise<Rig> {
  const real = memoryEventLog();
  const log = options.wrapLog ? options.wrapLog(real) : real;
  const lock = memoryLock();
  const store = cacheToolResults(memoryCache());
  const model = localModel({ tokenDelayMs: options.tokenDelayMs ?? 0 });
  const loop: AgentLoop = options.loop ?? {
    run: (o) => runAgent({ ...o, model: o.model ?? model, store, tools: o.tools as never }),
  };
  const signer = await approvalSigner("test-secret-test-secret-test-secret");
  const engine = new RunEngine({
    log,
    lock,
    loop,
    model,
    tools: options.tools ?? [],
    approval: new Set(),
    signer,
    logger,
    maxSteps: options.maxSteps ?? 10,
    maxTokens: 0,
    eventsTtlMs: 60_000,
    approvalTtlMs: 60_000,
    lockTtlMs: options.lockTtlMs ?? 10_000,
    waitMs: 1_000,
  });
  const runs = createRuns({
    log: real,
    lock,
    signer,
    enqueue: async () => {},
    maxRunsPerUser: 0,
    runTtlMs: 60_000,
    waitMs: 1_000,
    retryMs: 1_000,
  });
  return {
    log: real,
    engine,
    runs,
    start: async (text) => (await runs.start({ user: "ada", text })).runId,
    async events(runId) {
      const raw = await real.read(runLog(runId), { limit: 10_000 });
      return raw.flatMap(({ id, data }) => {
        const event = parseEvent(id, data);
        return event ? [event as { type: string; [field: string]: unknown }] : [];
      });
    },
  };
}

/** An attempt as the worker makes it, with a signal the test aborts to play a dying worker. */
function attempt(engine: RunEngine, runId: string, n: number, signal = new AbortController().signal) {
  return engine.run(runId, { signal, attempt: n, maxAttempts: 5 });
}

describe("a run carries on from its log after its worker stopped", () => {
  test("a model turn cut mid-stream is retracted with reset and runs again: the client shows its text once", async () => {
    const r = await rig({ tokenDelayMs: 5 });
    const runId = await r.start("Tell me about the weather in Paris");
    const dying = new AbortController();
    const first = attempt(r.engine, runId, 1, dying.signal);
    // Let a few tokens out, then the worker "dies".
    for (;;) {
      const texts = (await r.events(runId)).filter((e) => e.type === "text");
      if (texts.length >= 3) break;
      await Bun.sleep(2);
    }
    dying.abort(new Error("the worker died"));
    await first.catch(() => {});
    const cut = await r.events(runId);
    expect(cut.some((e) => e.type === "usage" || e.type === "done")).toBe(false);

    await attempt(r.engine, runId, 2);
    const events = await r.events(runId);
    const reset = events.findIndex((e) => e.type === "reset");
    expect(reset).toBeGreaterThan(0);
    expect(events[reset]).toMatchObject({ type: "reset", step: 0 });
    const done = events.at(-1) as { type: string; text: string };
    expect(done.type).toBe("done");
    // Without the reset the client would show the first tokens twice.
    const naive = events
      .filter((e) => e.type === "text")
      .map((e) => e.text)
      .join("");
    expect(naive.startsWith(done.text)).toBe(false);
    expect(clientText(events)).toBe(done.text);
  });

  test("a worker that dies after a side-effect tool finished: the resumed run reuses its result, the tool runs once", async () => {
    const memory = memoryTool();
    const dying = new AbortController();
    // The worker dies as it is about to log the tool's result: the loop had recorded it already.
    const r = await rig({
      tools: [memory.tool],
      // Short, so that the dead worker's hold on the run lapses soon, as a killed worker's does.
      lockTtlMs: 150,
      wrapLog: (log) => ({
        ...bound(log),
        append(name, data) {
          if (!dying.signal.aborted && parseEvent("0-0", data)?.type === "tool_result") {
            dying.abort(new Error("the worker died"));
            return new Promise<string>(() => {});
          }
          return log.append(name, data);
        },
      }),
    });
    const runId = await r.start("Remember that the boat leaves at noon.");
    void attempt(r.engine, runId, 1, dying.signal).catch(() => {});
    await until(() => dying.signal.aborted);
    expect(memory.calls).toBe(1);

    await retryWhileBusy(() => attempt(r.engine, runId, 2));
    const events = await r.events(runId);
    expect(memory.calls).toBe(1);
    expect(memory.effects).toBe(1);
    // The finished turn was replayed, not asked again: one tool call, one usage for step 0.
    expect(events.filter((e) => e.type === "tool_call")).toHaveLength(1);
    expect(events.filter((e) => e.type === "usage" && e.step === 0)).toHaveLength(1);
    expect(events.filter((e) => e.type === "reset")).toHaveLength(0);
    expect(events.at(-1)).toMatchObject({ type: "done", text: "I will remember that the boat leaves at noon." });
  });

  test("a worker that dies after the effect but before the tool returned: the idempotency key keeps it to one effect", async () => {
    const dying = new AbortController();
    const memory = memoryTool({
      hold: async () => {
        if (dying.signal.aborted) return;
        dying.abort(new Error("the worker died"));
        await new Promise(() => {});
      },
    });
    const r = await rig({ tools: [memory.tool], lockTtlMs: 150 });
    const runId = await r.start("Remember that the boat leaves at noon.");
    void attempt(r.engine, runId, 1, dying.signal).catch(() => {});
    await until(() => dying.signal.aborted);
    await retryWhileBusy(() => attempt(r.engine, runId, 2));
    expect(memory.calls).toBe(2);
    expect(memory.effects).toBe(1);
    expect((await r.events(runId)).at(-1)).toMatchObject({ type: "done" });
  });

  test("a worker that dies after the last step but before done: the next one ends the run without asking the model again", async () => {
    const dying = new AbortController();
    let turns = 0;
    const model = localModel();
    const store = cacheToolResults(memoryCache());
    const r = await rig({
      lockTtlMs: 150,
      loop: {
        run: (o) => {
          const counted = {
            ...model,
            stream: (q: never, c: never) => {
              turns++;
              return model.stream(q, c);
            },
          };
          return runAgent({ ...o, model: counted, store, tools: o.tools as never });
        },
      },
      wrapLog: (log) => ({
        ...bound(log),
        append(name, data) {
          if (!dying.signal.aborted && parseEvent("0-0", data)?.type === "done") {
            dying.abort(new Error("the worker died"));
            return new Promise<string>(() => {});
          }
          return log.append(name, data);
        },
      }),
    });
    const runId = await r.start("hello");
    void attempt(r.engine, runId, 1, dying.signal).catch(() => {});
    await until(() => dying.signal.aborted);
    expect(turns).toBe(1);
    await retryWhileBusy(() => attempt(r.engine, runId, 2));
    expect(turns).toBe(1);
    expect((await r.events(runId)).at(-1)).toMatchObject({
      type: "done",
      text: "Hello from the local model!",
      steps: 1,
    });
  });

  test("a run whose log says it ended is not run again, and a second worker on a held run hands the job back", async () => {
    const r = await rig({});
    const runId = await r.start("hello");
    await attempt(r.engine, runId, 1);
    const before = await r.events(runId);
    expect(before.at(-1)).toMatchObject({ type: "done", text: "Hello from the local model!" });
    await attempt(r.engine, runId, 2);
    expect(await r.events(runId)).toEqual(before);

    const slow = await rig({ tokenDelayMs: 20 });
    const busy = await slow.start("Tell me a long story about the sea");
    const running = attempt(slow.engine, busy, 1);
    let released = -1;
    await slow.engine.run(busy, {
      signal: new AbortController().signal,
      attempt: 1,
      maxAttempts: 5,
      release: async (delayMs) => {
        released = delayMs;
      },
    });
    expect(released).toBeGreaterThan(0);
    await running;
    await expect(
      slow.engine.run(busy, { signal: new AbortController().signal, attempt: 1, maxAttempts: 5 }),
    ).resolves.toBeUndefined();
  });

  test("tools made per run, on an engine wired by hand without services, find nothing and get a clear error", async () => {
    const Missing = token<object>("test/Missing");
    const found: unknown[] = [];
    const r = await rig({
      tools: (run, { find, get }) => {
        found.push(run.user, find(Missing));
        get(Missing);
        return [];
      },
    });
    const runId = await r.start("hello");
    await expect(attempt(r.engine, runId, 1)).rejects.toThrow('agent: no service "test/Missing" for the run\'s tools');
    expect(found).toEqual(["ada", undefined]);
  });

  test("a model that keeps failing: retried while attempts remain, then the run ends with failed", async () => {
    const failing: AgentLoop = {
      // biome-ignore lint/correctness/useYield: a loop that fails before its first event
      async *run() {
        throw new Error("provider exploded: token sk-secret");
      },
    };
    const r = await rig({ loop: failing });
    const engine = r.engine;
    const runId = await r.start("hello");
    // Two attempts at the run, and the job's last delivery, which only ends a run nothing ended.
    const deliver = (n: number) =>
      engine.run(runId, { signal: new AbortController().signal, attempt: n, maxAttempts: 3 });
    await expect(deliver(1)).rejects.toThrow("provider exploded");
    expect((await r.events(runId)).some((e) => e.type === "failed")).toBe(false);
    // The last attempt fails the run at once, with what the loop said (no secret in it).
    await expect(deliver(2)).rejects.toThrow("provider exploded");
    const failed = {
      id: expect.any(String),
      type: "failed",
      code: "TF_AGENT_RUN_FAILED",
      message: "agent: the run failed",
    };
    expect((await r.events(runId)).at(-1)).toEqual(failed);
    // The last delivery adds nothing, and throws so that the job goes to the dead letters.
    await expect(deliver(3)).rejects.toThrow("no attempt of 2 finished it");
    expect((await r.events(runId)).filter((e) => e.type === "failed")).toEqual([failed]);
  });

  test("a worker that dies on every attempt: the job's last delivery ends the run with failed, and a stream following it ends", async () => {
    const r = await rig({ tokenDelayMs: 5 });
    const runId = await r.start("Tell me about the weather in Paris");
    const seen: string[] = [];
    const following = (async () => {
      for await (const event of r.runs.events(runId)) seen.push(event.type);
    })();
    for (let n = 1; n <= 2; n++) {
      const dying = new AbortController();
      const running = retryWhileBusy(() => r.engine.run(runId, { signal: dying.signal, attempt: n, maxAttempts: 3 }));
      const before = seen.length;
      await until(() => seen.length > before + 2);
      dying.abort(new Error("the worker died"));
      await running.catch(() => {});
    }
    expect(seen).not.toContain("failed");
    const last = retryWhileBusy(() =>
      r.engine.run(runId, { signal: AbortSignal.timeout(60_000), attempt: 3, maxAttempts: 3 }),
    );
    await expect(last).rejects.toMatchObject({ code: "TF_AGENT_RUN_FAILED" });
    await following;
    expect(seen.at(-1)).toBe("failed");
    expect((await r.events(runId)).at(-1)).toEqual({
      id: expect.any(String),
      type: "failed",
      code: "TF_AGENT_RUN_FAILED",
      message: `agent: run "${runId}" failed: no attempt of 2 finished it (each failed, or its worker stopped)`,
    });
    // The JSON answer says so too.
    const result = await r.runs.result(runId);
    expect(result).toMatchObject({ status: "failed", reason: expect.stringContaining("no attempt of 2") });
  });
});

/** An EventLog's methods bound to it, to override one of them. */
function bound(log: EventLog): EventLog {
  return {
    append: (name, data) => log.append(name, data),
    read: (name, options) => log.read(name, options),
    wait: (name, options) => log.wait(name, options),
    expire: (name, ttlMs) => log.expire(name, ttlMs),
    delete: (name) => log.delete(name),
  };
}

/** Runs `work` again while the run is held by the dead attempt (its lock has not lapsed yet). */
async function retryWhileBusy(work: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await work();
    } catch (error) {
      if (i > 200 || (error as { code?: string }).code !== "TF_AGENT_RUN_BUSY") throw error;
      await Bun.sleep(20);
    }
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !check(); i++) await Bun.sleep(5);
  expect(check()).toBe(true);
}
