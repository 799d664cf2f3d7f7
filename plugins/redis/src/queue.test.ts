import { describe, expect, test } from "bun:test";
import type { Span, Tracer } from "@twelvefold/kernel";
import { noopTracer } from "@twelvefold/kernel";
import { latch, queueContract, sleep } from "@twelvefold/testing";
import { fileConnection, REDIS_URL, redisAvailable, removeKeys, uniquePrefix } from "../test/redis.ts";
import { connectRedis } from "./connection.ts";
import { redisQueue } from "./queue.ts";

const connection = fileConnection();

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe.if(redisAvailable)("redis Queue", () => {
  queueContract("redis", async () => redisQueue(await connection()), { dispose: (queue) => queue.close() });

  test("refuses payloads that are not JSON and options that make no sense, and work after close", async () => {
    const queue = redisQueue(await connection());
    await expect(queue.enqueue("t", undefined as never)).rejects.toThrow('payload for "t" is not JSON');
    await expect(queue.enqueue("t", 1, { delayMs: -1 })).rejects.toThrow(RangeError);
    await expect(queue.enqueue("t", 1, { maxAttempts: 0 })).rejects.toThrow("maxAttempts");
    await expect(queue.enqueue("", 1)).rejects.toThrow(TypeError);
    expect(() => queue.consume("t", async () => {}, { concurrency: 0 })).toThrow("concurrency");
    expect(() => queue.consume("t", async () => {}, { visibilityTimeoutMs: 1 })).toThrow("visibilityTimeoutMs");
    await queue[Symbol.asyncDispose]();
    await expect(queue.enqueue("t", 1)).rejects.toThrow('enqueue on "t" after close');
    expect(() => queue.consume("t", async () => {})).toThrow("after close");
  });

  test("a message deleted from the stream while a consumer holds it is counted and logged, never lost silently", async () => {
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn: (message: string) => void warnings.push(message),
      error: (message: string) => void warnings.push(message),
      child: () => logger,
      enabled: () => true,
    };
    const shared = await connection();
    const queue = redisQueue(shared, { logger });
    const topic = `deleted-${crypto.randomUUID()}`;
    const gate = latch();
    const signals: AbortSignal[] = [];
    // The held one: its renewal finds the entry gone and aborts its handler.
    queue.consume(
      topic,
      (_message, signal) => {
        signals.push(signal);
        return gate.promise;
      },
      { visibilityTimeoutMs: 60 },
    );
    await queue.enqueue(topic, "doomed");
    await until(() => signals.length === 1, "the delivery");
    const stream = `${shared.prefix}q:{${topic}}:s`;
    const entries = await shared.send<Array<[string]>>(["XRANGE", stream, "-", "+"], "test");
    await shared.send(["XDEL", stream, entries[0]?.[0] as string], "test");
    await until(() => signals[0]?.aborted === true, "the lost lease");
    expect(await queue.lost(topic)).toBe(1);
    expect(warnings).toContain("redis Queue: a handler lost its lease; its outcome will change nothing");
    gate.release();

    // An abandoned one: only XAUTOCLAIM's third field reports it.
    const other = `deleted-${crypto.randomUUID()}`;
    const taken = latch();
    const held = latch();
    const first = queue.consume(
      other,
      () => {
        taken.release();
        return held.promise;
      },
      { visibilityTimeoutMs: 60 },
    );
    await queue.enqueue(other, "doomed too");
    await taken.promise;
    await first.stop({ signal: AbortSignal.abort() });
    const otherStream = `${shared.prefix}q:{${other}}:s`;
    const others = await shared.send<Array<[string]>>(["XRANGE", otherStream, "-", "+"], "test");
    await shared.send(["XDEL", otherStream, others[0]?.[0] as string], "test");
    queue.consume(other, async () => {}, { visibilityTimeoutMs: 60 });
    await until(async () => (await queue.lost(other)) === 1, "the sweep to count it");
    expect(warnings).toContain(
      "redis Queue: messages were deleted from the stream while a consumer held them: they are lost",
    );
    const stats = await queue.stats(other);
    expect([stats.ready, stats.inFlight, stats.dead]).toEqual([0, 0, 0]);
    held.release();
    await queue.close();
  });

  test("commands are client spans when traced, failures marked as errors", async () => {
    const spans: Array<{ name: string; attributes: unknown; status?: string }> = [];
    const tracer: Tracer = {
      ...noopTracer,
      startSpan(name, options) {
        const record: { name: string; attributes: unknown; status?: string } = {
          name,
          attributes: options?.attributes,
        };
        spans.push(record);
        return {
          ...noopTracer.startSpan(name),
          setStatus: (status: string) => {
            record.status = status;
          },
        } as Span;
      },
    };
    const prefix = uniquePrefix();
    const traced = await connectRedis({ url: REDIS_URL, prefix, tracer });
    try {
      const queue = redisQueue(traced, {});
      const topic = "traced";
      queue.consume(topic, async (message) => {
        if (message.payload === "bad") throw new Error("no");
      });
      await queue.enqueue(topic, "good");
      await queue.enqueue(topic, "bad", { maxAttempts: 1 });
      await until(async () => (await queue.stats(topic)).dead === 1, "the bad job dead-lettered");
      await queue.close();
      expect(spans.find((s) => s.name === "queue enqueue")?.attributes).toMatchObject({
        "db.system.name": "redis",
        "db.operation.name": "XADD",
        "server.address": "127.0.0.1",
        "server.port": 6379,
      });
      expect(spans.some((s) => s.name === "queue ack")).toBe(true);
      await traced.send(["NO-SUCH-COMMAND"], "bad command").catch(() => {});
      expect(spans.at(-1)).toMatchObject({ name: "bad command", status: "error" });
    } finally {
      await traced.close();
      await removeKeys(prefix);
    }
  });
});
