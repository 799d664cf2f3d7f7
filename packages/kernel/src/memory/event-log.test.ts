import { describe, expect, test } from "bun:test";
import { eventLogContract } from "@twelvefold/testing";
import { createApp } from "../app.ts";
import { EventLog } from "../contracts/event-log.ts";
import { definePlugin } from "../plugin.ts";
import { embeddedInfo } from "../token.ts";
import { memoryEventLog } from "./event-log.ts";

eventLogContract("memory", () => memoryEventLog(), { dispose: (log) => log.close() });

describe("memoryEventLog", () => {
  test("ids have the Redis Streams shape and count on within one millisecond and past a clock step back", async () => {
    let now = 5_000;
    const log = memoryEventLog({ now: () => now });
    expect(await log.append("run", "a")).toBe("5000-0");
    expect(await log.append("run", "b")).toBe("5000-1");
    now = 4_000;
    expect(await log.append("run", "c")).toBe("5000-2");
    now = 6_000;
    expect(await log.append("run", "d")).toBe("6000-0");
    // An id without a sequence means its millisecond's first event, as in Redis.
    expect((await log.read("run", { after: "5000" })).map((e) => e.data)).toEqual(["b", "c", "d"]);
  });

  test("expires by the injected clock, without sleeping", async () => {
    let now = 1_000;
    const log = memoryEventLog({ now: () => now });
    await log.append("run", "a");
    await log.expire("run", 50);
    now += 49;
    expect(await log.read("run")).toHaveLength(1);
    now += 1;
    expect(await log.read("run")).toEqual([]);
    expect(await log.expire("run", 50)).toBe(false);
  });

  test("refuses bad input with a clear error and keeps the log as it was", async () => {
    const log = memoryEventLog();
    await log.append("run", "kept");
    await expect(log.append("", "x")).rejects.toThrow('memory EventLog: log must be a non-empty string: got ""');
    await expect(log.append("run", 42 as unknown as string)).rejects.toThrow("must be a string: got number");
    await expect(log.read("run", { limit: 0 })).rejects.toThrow(RangeError);
    await expect(log.expire("run", 0)).rejects.toThrow(RangeError);
    await expect(log.wait("run", { timeoutMs: -1 })).rejects.toThrow(
      'timeoutMs must be a positive number of milliseconds: got "-1"',
    );
    expect((await log.read("run")).map((e) => e.data)).toEqual(["kept"]);
  });

  test("close ends the waits in progress with no events", async () => {
    const log = memoryEventLog();
    const waiting = log.wait("run", { timeoutMs: 60_000 });
    log.close();
    expect(await waiting).toEqual([]);
  });

  test("a wait outlives the log's expiry and wakes on the log's next life", async () => {
    let now = 0;
    const log = memoryEventLog({ now: () => now });
    const first = await log.append("run", "old");
    await log.expire("run", 10);
    const waiting = log.wait("run", { after: first, timeoutMs: 60_000 });
    now = 20;
    await log.append("run", "new");
    expect((await waiting).map((e) => e.data)).toEqual(["new"]);
  });

  test("sweeps expired logs as appends go on, so abandoned logs do not pile up", async () => {
    let now = 0;
    const log = memoryEventLog({ now: () => now });
    await log.append("abandoned", "x");
    await log.expire("abandoned", 10);
    now = 100;
    for (let i = 0; i < 1024; i++) await log.append("busy", String(i));
    expect(await log.delete("abandoned")).toBe(false);
  });

  test("is the EventLog token's fallback, marked as losing data so production refuses it", async () => {
    expect(embeddedInfo(memoryEventLog())).toEqual({ name: "memory EventLog", losesData: true });
    const dev = createApp({
      name: "t",
      plugins: [definePlugin({ name: "user", requires: [EventLog], start() {} })],
      env: { ENVIRONMENT: "development", LOG_LEVEL: "silent" },
    });
    await dev.start();
    expect(embeddedInfo(dev.get(EventLog))?.name).toBe("memory EventLog");
    await dev.stop();
    const production = createApp({
      name: "t",
      plugins: [definePlugin({ name: "user", requires: [EventLog], start() {} })],
      env: { ENVIRONMENT: "production", LOG_LEVEL: "silent" },
    });
    await expect(production.start()).rejects.toThrow("memory EventLog");
  });
});
