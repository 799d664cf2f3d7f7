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

  test("a live handler keeps its lease however long it runs; abandoning it starts the visibility timeout", async () => {
    await using queue = memoryQueue();
    const gate = latch();
    const signals: AbortSignal[] = [];
    const first = queue.consume(
      "t",
      async (_message, signal) => {
        signals.push(signal);
        await gate.promise;
      },
      { visibilityTimeoutMs: 20 },
    );
    await queue.enqueue("t", "slow");
    await sleep(80);
    expect(signals.length).toBe(1);
    expect(signals[0]?.aborted).toBe(false);
    expect((await queue.stats("t")).inFlight).toBe(1);
    await first.stop({ signal: AbortSignal.abort() });
    expect(signals[0]?.reason).toBeInstanceOf(DOMException);
    const second = queue.consume("t", async (_message, signal) => void signals.push(signal), {
      visibilityTimeoutMs: 20,
    });
    while (signals.length < 2) await sleep(1);
    gate.release();
    await second.stop();
    const stats = await queue.stats("t");
    expect([stats.ready, stats.inFlight, stats.dead]).toEqual([0, 0, 0]);
  });

  test("a message whose every delivery is abandoned is dead-lettered, not redelivered forever", async () => {
    await using queue = memoryQueue();
    const gate = latch();
    await queue.enqueue("t", "poison", { maxAttempts: 2 });
    for (let n = 0; n < 2; n++) {
      let taken = false;
      const consumer = queue.consume(
        "t",
        () => {
          taken = true;
          return gate.promise;
        },
        { visibilityTimeoutMs: 10 },
      );
      while (!taken) await sleep(2);
      await consumer.stop({ signal: AbortSignal.abort() });
    }
    while ((await queue.stats("t")).dead === 0) await sleep(2);
    const [letter] = await queue.deadLetters("t");
    expect(letter?.error).toBe("visibility timeout of 10 ms passed without an ack");
    expect(letter?.attempt).toBe(2);
    gate.release();
  });

  test("a stop deadline that passes later abandons what is still in hand; one that never passes waits", async () => {
    await using queue = memoryQueue();
    const gate = latch();
    const deadline = new AbortController();
    const consumer = queue.consume("t", () => gate.promise);
    await queue.enqueue("t", 1);
    while ((await queue.stats("t")).inFlight === 0) await sleep(1);
    let stopped = false;
    const stopping = consumer.stop({ signal: deadline.signal }).then(() => {
      stopped = true;
    });
    await sleep(20);
    expect(stopped).toBe(false);
    deadline.abort();
    await stopping;
    const patient = queue.consume("u", async () => {});
    await patient.stop({ signal: new AbortController().signal });
    gate.release();
  });

  test("close with a deadline stops waiting for a handler once the deadline passes", async () => {
    const queue = memoryQueue();
    const gate = latch();
    queue.consume("t", () => gate.promise);
    await queue.enqueue("t", 1);
    while ((await queue.stats("t")).inFlight === 0) await sleep(1);
    const deadline = new AbortController();
    const closing = queue.close();
    const bounded = queue.close({ signal: deadline.signal });
    deadline.abort();
    await Promise.all([closing, bounded]);
    gate.release();
  });

  test("release refuses a negative delay", async () => {
    await using queue = memoryQueue();
    const errors: unknown[] = [];
    queue.consume("t", async (_message, _signal, delivery) => {
      await delivery.release({ delayMs: -1 }).catch((error: unknown) => errors.push(error));
    });
    await queue.enqueue("t", 1);
    while (errors.length === 0) await sleep(1);
    expect(errors[0]).toBeInstanceOf(RangeError);
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
