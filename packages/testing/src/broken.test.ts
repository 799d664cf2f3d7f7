// The kit's self-check: every suite must be able to fail. Each broken adapter below is a working
// memory adapter with one realistic defect; running the suite's cases by hand must fail exactly
// the cases that cover that defect, and no other.
import { describe, expect, test } from "bun:test";
import type { Cache, ConsumeOptions, EventLog, Lock, MessageHandler, Queue, RateLimitStore } from "@twelvefold/kernel";
import { memoryCache, memoryEventLog, memoryLock, memoryQueue, memoryRateLimitStore } from "@twelvefold/kernel/memory";
import type { ContractCase, SuiteOptions } from "../mod.ts";
import { cacheCases, eventLogCases, lockCases, queueCases, rateLimitCases, runCase } from "../mod.ts";

/** Short patience: a failing case gives up after this, so the self-check stays quick. */
const patienceMs = 400;

/** Runs every case; returns the names of those that failed. */
async function failingCases<A>(
  cases: readonly ContractCase<NoInfer<A>, SuiteOptions<NoInfer<A>>>[],
  make: () => A,
  dispose?: (adapter: A) => Promise<void>,
): Promise<string[]> {
  const failed: string[] = [];
  await Promise.all(
    cases.map(async (c) => {
      await runCase(c, make, { patienceMs, dispose }).catch(() => failed.push(c.name));
    }),
  );
  return failed.sort();
}

describe("the contract suites catch broken adapters", () => {
  test("a cache that ignores TTL fails the expiry case", async () => {
    const make = (): Cache => {
      const ignoringTtl = (real: Cache): Cache => ({
        get: (key) => real.get(key),
        set: (key, value) => real.set(key, value),
        delete: (key) => real.delete(key),
        ttl: (key) => real.ttl(key),
        namespace: (prefix) => ignoringTtl(real.namespace(prefix)),
        clear: () => real.clear(),
      });
      return ignoringTtl(memoryCache());
    };
    expect(await failingCases(cacheCases, make)).toEqual([
      "an entry expires after its TTL and is never returned again",
      "jsonCache set passes its TTL to the cache",
    ]);
  });

  test("a rate limiter that reads and writes in two steps fails the atomicity case", async () => {
    const make = (): RateLimitStore => {
      const windows = new Map<string, { count: number; endsAt: number }>();
      return {
        async hit(key, limit, windowMs) {
          if (!Number.isInteger(limit) || limit < 1 || !(windowMs > 0)) throw new RangeError("limit or window");
          const now = Date.now();
          const seen = windows.get(key);
          const window = seen && seen.endsAt > now ? seen : { count: 0, endsAt: now + windowMs };
          await null; // the round trip between GET and SET
          const count = window.count + 1;
          windows.set(key, { count, endsAt: window.endsAt });
          return {
            allowed: count <= limit,
            limit,
            remaining: Math.max(0, limit - count),
            resetMs: window.endsAt - now,
          };
        },
        async reset(key) {
          windows.delete(key);
        },
      };
    };
    expect(await failingCases(rateLimitCases, make)).toEqual([
      "hit is atomic: 50 concurrent hits on one key admit exactly the limit",
    ]);
  });

  test("a rate limiter that takes any limit fails the RangeError case; answering by promise fails none", async () => {
    const permissive = (): RateLimitStore => {
      const real = memoryRateLimitStore();
      return {
        hit: (key, limit, windowMs) => real.hit(key, Math.max(1, Math.ceil(limit)), windowMs || 1),
        reset: (key) => real.reset(key),
      };
    };
    expect(await failingCases(rateLimitCases, permissive)).toEqual([
      "a limit that is not a positive integer, or a window that is not positive, is a RangeError",
    ]);
    // The memory store answers synchronously and throws at the call; the same store behind a
    // promise (as a networked one answers: results and errors both asynchronous) passes too.
    const promising = (): RateLimitStore => {
      const real = memoryRateLimitStore();
      return {
        hit: async (key, limit, windowMs) => real.hit(key, limit, windowMs),
        reset: (key) => real.reset(key),
      };
    };
    expect(await failingCases(rateLimitCases, promising)).toEqual([]);
  });

  test("a lock that checks, then takes, lets two owners in and fails the contention case", async () => {
    const make = (): Lock => {
      const held = new Map<string, { owner: string; expiresAt: number }>();
      const live = (key: string) => {
        const lease = held.get(key);
        return lease && lease.expiresAt > Date.now() ? lease : undefined;
      };
      return {
        async acquire(key, ttlMs) {
          if (live(key)) return undefined;
          await null; // the round trip between checking and taking
          const lease = { key, owner: crypto.randomUUID(), expiresAt: Date.now() + ttlMs };
          held.set(key, lease);
          return lease;
        },
        async release({ key, owner }) {
          if (live(key)?.owner !== owner) return false;
          held.delete(key);
          return true;
        },
        async extend({ key, owner }, ttlMs) {
          if (live(key)?.owner !== owner) return undefined;
          const lease = { key, owner, expiresAt: Date.now() + ttlMs };
          held.set(key, lease);
          return lease;
        },
      };
    };
    expect(await failingCases(lockCases, make)).toEqual([
      "among 20 concurrent acquirers of a free key exactly one gets it",
    ]);
  });

  /** A memory queue whose handlers run inside `wrap`, where each test puts its one defect. */
  const queueWrapping =
    (wrap: (handler: MessageHandler, options: ConsumeOptions | undefined) => MessageHandler) => () => {
      const real = memoryQueue();
      const broken: Queue = {
        enqueue: (topic, payload, options) => real.enqueue(topic, payload, options),
        deadLetters: (topic, limit) => real.deadLetters(topic, limit),
        stats: (topic) => real.stats(topic),
        consume: (topic, handler, options) => real.consume(topic, wrap(handler as MessageHandler, options), options),
      };
      return Object.assign(broken, { close: () => real.close() });
    };

  test("a queue that acks on receipt (dropping unacked messages) fails every at-least-once case", async () => {
    const make = queueWrapping((handler) => async (message, signal, delivery) => {
      // The bug: the message counts as handled the moment it arrives.
      Promise.resolve()
        .then(() => handler(message, signal, delivery))
        .catch(() => {});
    });
    expect(await failingCases(queueCases, make, (q) => q.close())).toEqual([
      "a consumer stopped past its deadline leaves its message to be delivered again as the next attempt",
      "a consumer that dies mid-message loses nothing: another consumer handles every message",
      "a failing handler is retried with backoff until maxAttempts, then dead-lettered with its last error",
      "a handler that fails once succeeds on its retry",
      "an ack after the lease lapsed and the message was handed on changes nothing",
      "concurrency n lets one consumer hold n messages at once, never more",
      "dead letters keep payloads and errors, oldest first, and honour the limit",
      "stop finishes and acks the message in hand, takes no new one, then resolves",
    ]);
  });

  test("a queue whose leases lapse while the handler still runs (no heartbeat) fails the long-handler case", async () => {
    const make = queueWrapping((handler, options) => async (message, signal, delivery) => {
      // The bug: nothing renews the lease, so it is handed on after the visibility timeout.
      const lapse = setTimeout(() => {
        if (!signal.aborted) void delivery.release();
      }, options?.visibilityTimeoutMs ?? 30_000);
      try {
        await handler(message, signal, delivery);
      } finally {
        clearTimeout(lapse);
      }
    });
    expect(await failingCases(queueCases, make, (q) => q.close())).toEqual([
      "a handler that runs past the visibility timeout keeps its lease: delivered once, then acked",
    ]);
  });

  /** A working memory event log with some of its methods replaced by broken ones. */
  const eventLogWith = (broken: (real: EventLog) => Partial<EventLog>) => () => {
    const real = memoryEventLog();
    const log: EventLog = {
      append: (name, data) => real.append(name, data),
      read: (name, options) => real.read(name, options),
      wait: (name, options) => real.wait(name, options),
      expire: (name, ttlMs) => real.expire(name, ttlMs),
      delete: (name) => real.delete(name),
      ...broken(real),
    };
    return Object.assign(log, { close: () => real.close() });
  };
  const closeLog = async (log: { close(): void }) => log.close();

  test("an event log that reads from the given id inclusive (an off-by-one) fails the read-after cases", async () => {
    const make = eventLogWith((real) => ({
      async read(name, options) {
        await real.read(name, options); // refuses a malformed id, as the real one does
        // The bug: XRANGE from the id instead of XREAD after it.
        const all = await real.read(name, { limit: 10_000 });
        const start = options?.after === undefined ? 0 : all.findIndex((e) => e.id === options.after);
        return all.slice(Math.max(0, start), Math.max(0, start) + (options?.limit ?? 100));
      },
    }));
    expect(await failingCases(eventLogCases, make, closeLog)).toEqual([
      "read after an id returns exactly the events appended after it, none twice, none skipped",
      "read honours the limit, and paging by the last id read walks the whole log once",
    ]);
  });

  test("an event log whose wait polls once at its timeout, instead of waking on appends, fails the wake cases", async () => {
    const make = eventLogWith((real) => ({
      async wait(name, options) {
        const now = await real.read(name, options);
        if (now.length > 0) return now;
        options.signal?.throwIfAborted();
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, options.timeoutMs);
          options.signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(options.signal?.reason);
          });
        });
        return real.read(name, options);
      },
    }));
    expect(await failingCases(eventLogCases, make, closeLog)).toEqual([
      "twenty waiters on one log all wake on one append",
      "wait wakes when an event is appended while it waits, on a new log and after an id",
    ]);
  });

  test("an event log whose expire does nothing fails the expiry case", async () => {
    const make = eventLogWith((real) => ({
      async expire(name) {
        return (await real.read(name, { limit: 1 })).length > 0;
      },
    }));
    expect(await failingCases(eventLogCases, make, closeLog)).toEqual([
      "expire drops the whole log once its TTL passes, and says whether there was a log",
    ]);
  });

  test("the same cases pass against the working memory adapters", async () => {
    const results = await Promise.all([
      failingCases(cacheCases, () => memoryCache()),
      failingCases(rateLimitCases, () => memoryRateLimitStore()),
      failingCases(lockCases, () => memoryLock()),
      failingCases(
        queueCases,
        () => memoryQueue(),
        (q) => q.close(),
      ),
    ]);
    expect(results).toEqual([[], [], [], []]);
  });

  // Apart from the others, so its cases add nothing to the load the timing cases above run under.
  test("the event log cases pass against the working memory event log", async () => {
    expect(await failingCases(eventLogCases, () => memoryEventLog(), closeLog)).toEqual([]);
  });
});
