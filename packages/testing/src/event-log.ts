import { expect } from "bun:test";
import type { EventLog, LogEvent } from "@twelvefold/kernel";
import { type AdapterFactory, type Cases, type ContractCase, registerSuite, type SuiteOptions, sleep } from "./case.ts";

/** Options of {@link eventLogContract}. The contract has no optional behaviour. */
export type EventLogContractOptions<A extends EventLog = EventLog> = SuiteOptions<A>;

/** Events that must come back exactly as they went in. */
const awkwardData: readonly string[] = [
  "",
  " ",
  '{"type":"text","text":"Hello"}',
  "caf\u00e9 / cafe\u0301 \u{1F600}\u{1F469}\u200D\u{1F4BB} \u4E2D\u6587 \u0639\u0631\u0628\u064A",
  "line\nbreak\r\nand\ttab, data: id: retry: (SSE field names)",
  "nul\u0000inside",
  "\uFEFFbyte order mark",
  "trailing spaces   ",
];

/** Long enough that a wait which must be woken is never ended by its own timeout during a case. */
const LONG_WAIT_MS = 60_000;

async function appendAll(log: EventLog, name: string, data: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const item of data) ids.push(await log.append(name, item));
  return ids;
}

/** Resolves with the promise's value, or with `"still waiting"` once the case's patience has passed. */
function within<T>(promise: Promise<T>, patienceMs: number): Promise<T | "still waiting"> {
  return Promise.race([promise, sleep(patienceMs).then(() => "still waiting" as const)]);
}

const numbered = (count: number, prefix = "event") => Array.from({ length: count }, (_, i) => `${prefix} ${i}`);
const dataOf = (events: readonly LogEvent[]) => events.map((e) => e.data);

/** The EventLog contract's cases, as data (see {@link runCase}). Every case uses logs of its own. */
export const eventLogCases: readonly ContractCase<EventLog, EventLogContractOptions>[] = [
  {
    name: "append resolves with distinct ids, and read returns every event in append order",
    async run(log, { unique }) {
      const name = unique("log");
      const data = numbered(20);
      const ids = await appendAll(log, name, data);
      expect(new Set(ids).size).toBe(20);
      const events = await log.read(name);
      expect(events.map((e) => e.id)).toEqual(ids);
      expect(dataOf(events)).toEqual(data);
    },
  },
  {
    name: "data round-trips exactly: empty string, unicode, control characters, 256 KiB",
    async run(log, { unique }) {
      const name = unique("log");
      const large = "abc\u00e9\u4E2D\u{1F600}\n".repeat(256 * 128);
      await appendAll(log, name, [...awkwardData, large]);
      const events = await log.read(name);
      expect(dataOf(events.slice(0, -1))).toEqual([...awkwardData]);
      expect(events.at(-1)?.data === large).toBe(true);
    },
  },
  {
    name: "read after an id returns exactly the events appended after it, none twice, none skipped",
    async run(log, { unique }) {
      const name = unique("log");
      const data = numbered(10);
      const ids = await appendAll(log, name, data);
      for (let i = 0; i < ids.length; i++) {
        expect(dataOf(await log.read(name, { after: ids[i] }))).toEqual(data.slice(i + 1));
      }
      expect(await log.read(name, { after: ids.at(-1) })).toEqual([]);
    },
  },
  {
    name: "read honours the limit, and paging by the last id read walks the whole log once",
    async run(log, { unique }) {
      const name = unique("log");
      const data = numbered(25);
      await appendAll(log, name, data);
      expect((await log.read(name, { limit: 7 })).length).toBe(7);
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page++) {
        const events = await log.read(name, { after, limit: 7 });
        if (events.length === 0) break;
        expect(events.length).toBeLessThanOrEqual(7);
        seen.push(...dataOf(events));
        after = events.at(-1)?.id;
      }
      expect(seen).toEqual(data);
    },
  },
  {
    name: "a log nobody appended to reads as empty",
    async run(log, { unique }) {
      expect(await log.read(unique("missing"))).toEqual([]);
    },
  },
  {
    name: "an id the adapter cannot parse is refused with a TypeError, by read and by wait",
    async run(log, { unique }) {
      const name = unique("log");
      await log.append(name, "kept");
      await expect(log.read(name, { after: "not an id" })).rejects.toBeInstanceOf(TypeError);
      await expect(log.wait(name, { after: "1-x", timeoutMs: 50 })).rejects.toBeInstanceOf(TypeError);
      expect(dataOf(await log.read(name))).toEqual(["kept"]);
    },
  },
  {
    name: "wait resolves at once with the events already after the id",
    async run(log, { unique, patienceMs }) {
      const name = unique("log");
      const [first] = await appendAll(log, name, ["a", "b", "c"]);
      const events = await within(log.wait(name, { after: first, timeoutMs: LONG_WAIT_MS }), patienceMs);
      expect(events === "still waiting" ? events : dataOf(events)).toEqual(["b", "c"]);
    },
  },
  {
    name: "wait wakes when an event is appended while it waits, on a new log and after an id",
    async run(log, { unique, patienceMs, defer }) {
      const stop = new AbortController();
      defer(() => stop.abort());
      const name = unique("log");
      const fresh = log.wait(name, { timeoutMs: LONG_WAIT_MS, signal: stop.signal });
      await sleep(20);
      const id = await log.append(name, "first");
      const woke = await within(fresh, patienceMs);
      expect(woke === "still waiting" ? woke : dataOf(woke)).toEqual(["first"]);

      const next = log.wait(name, { after: id, timeoutMs: LONG_WAIT_MS, signal: stop.signal });
      await sleep(20);
      await log.append(name, "second");
      const again = await within(next, patienceMs);
      expect(again === "still waiting" ? again : dataOf(again)).toEqual(["second"]);
    },
  },
  {
    name: "twenty waiters on one log all wake on one append",
    async run(log, { unique, patienceMs, defer }) {
      const stop = new AbortController();
      defer(() => stop.abort());
      const name = unique("log");
      const id = await log.append(name, "before");
      const waits = Array.from({ length: 20 }, () =>
        log.wait(name, { after: id, timeoutMs: LONG_WAIT_MS, signal: stop.signal }),
      );
      await sleep(20);
      await log.append(name, "news");
      const woke = await within(Promise.all(waits), patienceMs);
      expect(woke === "still waiting" ? woke : woke.map(dataOf)).toEqual(Array(20).fill(["news"]));
    },
  },
  {
    name: "wait resolves with no events once timeoutMs passes without one",
    async run(log, { unique, patienceMs }) {
      const name = unique("log");
      const id = await log.append(name, "only");
      expect(await within(log.wait(name, { after: id, timeoutMs: 50 }), patienceMs)).toEqual([]);
      expect(await within(log.wait(unique("missing"), { timeoutMs: 50 }), patienceMs)).toEqual([]);
    },
  },
  {
    name: "aborting a wait rejects it with the signal's reason, and the log still works",
    async run(log, { unique, patienceMs }) {
      const name = unique("log");
      const controller = new AbortController();
      const reason = new Error("client went away");
      const waiting = log.wait(name, { timeoutMs: LONG_WAIT_MS, signal: controller.signal });
      await sleep(20);
      controller.abort(reason);
      const outcome = await within(
        waiting.then(
          () => "resolved",
          (error: unknown) => error,
        ),
        patienceMs,
      );
      expect(outcome).toBe(reason);
      await expect(log.wait(name, { timeoutMs: 50, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      await log.append(name, "after");
      expect(dataOf(await log.read(name))).toEqual(["after"]);
    },
  },
  {
    name: "expire drops the whole log once its TTL passes, and says whether there was a log",
    async run(log, { unique, eventually }) {
      const name = unique("log");
      await appendAll(log, name, ["a", "b"]);
      expect(await log.expire(unique("missing"), 100)).toBe(false);
      expect(await log.expire(name, 100)).toBe(true);
      await eventually("the log to expire after 100 ms", async () => (await log.read(name)).length === 0);
    },
  },
  {
    name: "a log keeps every event until its TTL passes, appends after expire included",
    async run(log, { unique }) {
      const name = unique("log");
      await log.append(name, "a");
      expect(await log.expire(name, 60_000)).toBe(true);
      await log.append(name, "b");
      expect(dataOf(await log.read(name))).toEqual(["a", "b"]);
    },
  },
  {
    name: "delete drops the log at once and reports whether it existed",
    async run(log, { unique }) {
      const name = unique("log");
      await appendAll(log, name, ["a", "b"]);
      expect(await log.delete(name)).toBe(true);
      expect(await log.read(name)).toEqual([]);
      expect(await log.delete(name)).toBe(false);
      await log.append(name, "again");
      expect(dataOf(await log.read(name))).toEqual(["again"]);
    },
  },
  {
    name: "logs are independent: appends, reads, expiry and deletes never touch another log",
    async run(log, { unique }) {
      const [a, b] = [unique("a"), unique("b")];
      await appendAll(log, a, ["a1", "a2"]);
      await appendAll(log, b, ["b1"]);
      await log.delete(a);
      expect(dataOf(await log.read(b))).toEqual(["b1"]);
      await log.expire(b, 60_000);
      await log.append(a, "a3");
      expect(dataOf(await log.read(a))).toEqual(["a3"]);
    },
  },
  {
    name: "fifty concurrent appends get distinct ids, and read returns each once, in the order they resolved",
    async run(log, { unique }) {
      const name = unique("log");
      const resolved: string[] = [];
      const ids = await Promise.all(
        numbered(50).map((data) =>
          log.append(name, data).then((id) => {
            resolved.push(id);
            return id;
          }),
        ),
      );
      expect(new Set(ids).size).toBe(50);
      const events = await log.read(name, { limit: 100 });
      expect(events.map((e) => e.id)).toEqual(resolved);
      expect(new Set(dataOf(events))).toEqual(new Set(numbered(50)));
    },
  },
];

/**
 * Registers the EventLog contract suite for an adapter.
 *
 * @example
 * ```ts
 * import { eventLogContract } from "@twelvefold/testing";
 * import { memoryEventLog } from "@twelvefold/kernel/memory";
 *
 * eventLogContract("memory", () => memoryEventLog(), { dispose: (log) => log.close() });
 * ```
 */
export function eventLogContract<A extends EventLog>(
  name: string,
  makeAdapter: AdapterFactory<A>,
  options: EventLogContractOptions<A> = {},
): void {
  registerSuite("EventLog", name, eventLogCases as Cases<A, EventLogContractOptions<A>>, makeAdapter, {
    ...options,
    capabilities: new Set(),
  });
}
