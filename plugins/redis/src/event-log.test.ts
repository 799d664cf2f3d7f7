import { describe, expect, test } from "bun:test";
import { eventLogContract } from "@twelvefold/testing";
import { fileConnection, redisAvailable } from "../test/redis.ts";
import { redisEventLog } from "./event-log.ts";

const connection = fileConnection();

describe.if(redisAvailable)("redis EventLog", () => {
  eventLogContract("redis", async () => redisEventLog(await connection()), { dispose: (log) => log.close() });

  test("waits on many logs share one blocked read, and each wakes with its own log's events", async () => {
    const log = redisEventLog(await connection(), { blockMs: 60_000 });
    try {
      const names = Array.from({ length: 50 }, (_, i) => `many-${crypto.randomUUID()}-${i}`);
      const waits = names.map((name) => log.wait(name, { timeoutMs: 30_000 }));
      await Bun.sleep(20);
      // In reverse order of waiting, so a read that covered only the first logs would be caught out.
      for (const name of [...names].reverse()) await log.append(name, name);
      const woke = await Promise.all(waits);
      expect(woke.map((events) => events.map((e) => e.data))).toEqual(names.map((name) => [name]));
    } finally {
      log.close();
    }
  });

  test("refuses bad input with a clear error before sending anything", async () => {
    const log = redisEventLog(await connection());
    await expect(log.append("", "x")).rejects.toThrow('redis EventLog: log must be a non-empty string: got ""');
    await expect(log.append("run", 1 as unknown as string)).rejects.toThrow("must be a string: got number");
    await expect(log.read("run", { limit: 0 })).rejects.toThrow(RangeError);
    await expect(log.expire("run", 1.5)).rejects.toThrow('ttlMs must be a positive integer of milliseconds: got "1.5"');
    await expect(log.wait("run", { timeoutMs: 0 })).rejects.toThrow(RangeError);
    log.close();
    expect(await log.wait(`closed-${crypto.randomUUID()}`, { timeoutMs: 60_000 })).toEqual([]);
  });
});
