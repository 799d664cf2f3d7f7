import { describe, expect, test } from "bun:test";
import { latch, queueContract, sleep } from "@twelvefold/testing";
import { createApp } from "../app.ts";
import { Queue } from "../contracts/queue.ts";
import { ConfigError, ExitCode } from "../errors.ts";
import { definePlugin } from "../plugin.ts";
import type { Runtime } from "../runtime/types.ts";
import { embeddedInfo } from "../token.ts";
import { memoryQueue } from "./queue.ts";

queueContract("memory", () => memoryQueue(), { dispose: (queue) => queue.close() });

describe("memoryQueue", () => {
  test("is marked as an embedded adapter that loses data", () => {
    expect(embeddedInfo(memoryQueue())).toEqual({ name: "memory Queue", losesData: true });
  });

  test("a handler cannot change what the next delivery sees", async () => {
    await using queue = memoryQueue();
    const seen: unknown[] = [];
    queue.consume(
      "t",
      async (message) => {
        seen.push(structuredClone(message.payload));
        (message.payload as { n: number }).n = 99;
        if (message.attempt === 1) throw new Error("again");
      },
      { backoffMs: () => 0 },
    );
    const payload = { n: 1 };
    await queue.enqueue("t", payload);
    payload.n = 2;
    while (seen.length < 2) await sleep(1);
    expect(seen).toEqual([{ n: 1 }, { n: 1 }]);
  });

  test("refuses payloads that are not JSON and options that make no sense", async () => {
    await using queue = memoryQueue();
    await expect(queue.enqueue("t", undefined as never)).rejects.toThrow('payload for "t" is not JSON');
    await expect(queue.enqueue("t", 1, { delayMs: -1 })).rejects.toThrow(RangeError);
    await expect(queue.enqueue("t", 1, { maxAttempts: 0 })).rejects.toThrow("maxAttempts");
    await expect(queue.enqueue("", 1)).rejects.toThrow(TypeError);
    expect(() => queue.consume("t", async () => {}, { concurrency: 0 })).toThrow("concurrency");
    expect(() => queue.consume("t", async () => {}, { visibilityTimeoutMs: 0 })).toThrow("visibilityTimeoutMs");
  });

  test("aborts the handler's signal when its lease lapses, and redelivers", async () => {
    await using queue = memoryQueue();
    const gate = latch();
    const signals: AbortSignal[] = [];
    const consumer = queue.consume(
      "t",
      async (_message, signal) => {
        signals.push(signal);
        if (signals.length === 1) await gate.promise;
      },
      { visibilityTimeoutMs: 20, concurrency: 2 },
    );
    await queue.enqueue("t", "slow");
    while (signals.length < 2) await sleep(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(DOMException);
    gate.release();
    await consumer.stop();
    const stats = await queue.stats("t");
    expect([stats.ready, stats.inFlight, stats.dead]).toEqual([0, 0, 0]);
  });

  test("a message whose every delivery lapses is dead-lettered, not redelivered forever", async () => {
    await using queue = memoryQueue();
    const gate = latch();
    queue.consume("t", () => gate.promise, { visibilityTimeoutMs: 10, concurrency: 5 });
    await queue.enqueue("t", "poison", { maxAttempts: 2 });
    while ((await queue.stats("t")).dead === 0) await sleep(2);
    const [letter] = await queue.deadLetters("t");
    expect(letter?.error).toBe("visibility timeout of 10 ms passed without an ack");
    expect(letter?.attempt).toBe(2);
    gate.release();
  });

  test("close stops every consumer and refuses new work", async () => {
    const queue = memoryQueue();
    const handled: unknown[] = [];
    queue.consume("a", async (m) => void handled.push(m.payload));
    queue.consume("b", async (m) => void handled.push(m.payload));
    await queue.close();
    await queue.close();
    await expect(queue.enqueue("a", 1)).rejects.toThrow('enqueue on "a" after close');
    expect(() => queue.consume("a", async () => {})).toThrow("after close");
    expect(handled).toEqual([]);
  });
});

describe("the Queue token's fallback", () => {
  const worker = definePlugin({
    name: "worker",
    requires: [Queue],
    start({ get }) {
      get(Queue);
    },
  });

  class Exited extends Error {
    constructor(readonly code: number) {
      super(`exit ${code}`);
    }
  }

  function fakeRuntime(): Runtime {
    return {
      name: "fake",
      env: () => ({}),
      readTextFile: async () => undefined,
      onSignal: () => () => {},
      onFatal: () => () => {},
      exit: (code) => {
        throw new Exited(code);
      },
      now: () => performance.now(),
      writeLine: () => true,
      serve: () => Promise.reject(new Error("no server in this test")),
    };
  }

  test("development builds the memory Queue when no plugin provides one", async () => {
    const app = createApp({ name: "t", plugins: [worker], env: { ENVIRONMENT: "development" }, log: () => {} });
    await app.start();
    expect(embeddedInfo(app.get(Queue))?.name).toBe("memory Queue");
    await app.stop();
  });

  test("production refuses it: start fails with a ConfigError naming the queue", async () => {
    const lines: string[] = [];
    const app = createApp({
      name: "t",
      plugins: [worker],
      env: { ENVIRONMENT: "production" },
      log: (line) => lines.push(line),
    });
    const error = await app.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      expect.objectContaining({ name: "twelvefold/Queue", received: expect.stringContaining("memory Queue") }),
    ]);
    expect((error as ConfigError).message).toContain("twelvefold/Queue");
  });

  test("production run() exits 78 (EX_CONFIG) and logs why", async () => {
    const lines: string[] = [];
    const app = createApp({
      name: "t",
      plugins: [worker],
      env: { ENVIRONMENT: "production" },
      runtime: fakeRuntime(),
      log: (line) => lines.push(line),
    });
    const exit = await app.run().catch((e: unknown) => e);
    expect(exit).toEqual(new Exited(ExitCode.config));
    expect((exit as Exited).code).toBe(78);
    expect(lines.map((line) => JSON.parse(line).message).join("\n")).toContain("twelvefold/Queue");
  });
});
