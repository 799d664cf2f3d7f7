import { expect } from "bun:test";
import type { RateLimitResult, RateLimitStore } from "@twelvefold/kernel";
import { type AdapterFactory, type Cases, type ContractCase, registerSuite, type SuiteOptions, sleep } from "./case.ts";

/** Options of {@link rateLimitContract}. The contract has no optional behaviour. */
export type RateLimitContractOptions<A extends RateLimitStore = RateLimitStore> = SuiteOptions<A>;

function expectSane(result: RateLimitResult, limit: number, windowMs: number): void {
  expect(result.limit).toBe(limit);
  expect(result.remaining).toBeGreaterThanOrEqual(0);
  expect(result.resetMs).toBeGreaterThan(0);
  expect(result.resetMs).toBeLessThanOrEqual(windowMs);
}

/**
 * What one call of `hit` came to, whichever way the adapter answers: a result (returned, or a
 * promise of one) or an error (thrown at the call, or a rejected promise). The contract allows
 * all four, so the cases never assume a promise.
 */
async function outcome(call: () => RateLimitResult | Promise<RateLimitResult>): Promise<RateLimitResult | Error> {
  try {
    return await call();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The RateLimitStore contract's cases, as data (see {@link runCase}). */
export const rateLimitCases: readonly ContractCase<RateLimitStore, RateLimitContractOptions>[] = [
  {
    name: "the first hit is allowed with limit - 1 remaining and a reset within the window",
    async run(store, { unique }) {
      const result = await store.hit(unique("client"), 5, 10_000);
      expect(result.allowed).toBe(true);
      expect(result.remaining).toBe(4);
      expectSane(result, 5, 10_000);
    },
  },
  {
    name: "remaining counts down to 0, then hits are refused",
    async run(store, { unique }) {
      const key = unique("client");
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await store.hit(key, 3, 10_000));
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, false]);
      expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0, 0]);
      for (const result of results) expectSane(result, 3, 10_000);
    },
  },
  {
    name: "hit is atomic: 50 concurrent hits on one key admit exactly the limit",
    async run(store, { unique }) {
      const key = unique("burst");
      const results = await Promise.all(Array.from({ length: 50 }, () => store.hit(key, 10, 10_000)));
      const allowed = results.filter((r) => r.allowed);
      expect(allowed.length).toBe(10);
      expect(allowed.map((r) => r.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect((await store.hit(key, 10, 10_000)).allowed).toBe(false);
    },
  },
  {
    name: "keys are independent",
    async run(store, { unique }) {
      const busy = unique("busy");
      const quiet = unique("quiet");
      await store.hit(busy, 1, 10_000);
      expect((await store.hit(busy, 1, 10_000)).allowed).toBe(false);
      const other = await store.hit(quiet, 1, 10_000);
      expect(other.allowed).toBe(true);
      expect(other.remaining).toBe(0);
    },
  },
  {
    name: "resetMs counts down as the window passes",
    async run(store, { unique }) {
      const key = unique("client");
      const first = await store.hit(key, 10, 10_000);
      await sleep(40);
      const second = await store.hit(key, 10, 10_000);
      expect(second.resetMs).toBeLessThan(first.resetMs);
      expectSane(second, 10, 10_000);
    },
  },
  {
    name: "when the window ends the count starts again",
    async run(store, { unique, eventually }) {
      const key = unique("client");
      await store.hit(key, 2, 150);
      await store.hit(key, 2, 150);
      const refused = await store.hit(key, 2, 150);
      expect(refused.allowed).toBe(false);
      await sleep(refused.resetMs);
      const fresh = await eventually("a new window after resetMs", async () => {
        const result = await store.hit(key, 2, 150);
        return result.allowed ? result : undefined;
      });
      expect(fresh.remaining).toBe(1);
      expectSane(fresh, 2, 150);
    },
  },
  {
    name: "a limit that is not a positive integer, or a window that is not positive, is a RangeError",
    async run(store, { unique }) {
      const key = unique("client");
      for (const [limit, windowMs] of [
        [0, 10_000],
        [2.5, 10_000],
        [1, 0],
      ] as const) {
        const result = await outcome(() => store.hit(key, limit, windowMs));
        expect(result, `hit(key, ${limit}, ${windowMs})`).toBeInstanceOf(RangeError);
      }
      // A refused call counted nothing.
      expect((await store.hit(key, 1, 10_000)).allowed).toBe(true);
    },
  },
  {
    name: "reset forgets the key's count",
    async run(store, { unique }) {
      const key = unique("client");
      await store.hit(key, 1, 10_000);
      expect((await store.hit(key, 1, 10_000)).allowed).toBe(false);
      await store.reset(key);
      const after = await store.hit(key, 1, 10_000);
      expect(after.allowed).toBe(true);
      expect(after.remaining).toBe(0);
      await store.reset(unique("never-hit"));
    },
  },
];

/**
 * Registers the RateLimitStore contract suite for an adapter.
 *
 * @example
 * ```ts
 * import { rateLimitContract } from "@twelvefold/testing";
 * rateLimitContract("memory", () => memoryRateLimitStore());
 * ```
 */
export function rateLimitContract<A extends RateLimitStore>(
  name: string,
  makeAdapter: AdapterFactory<A>,
  options: RateLimitContractOptions<A> = {},
): void {
  registerSuite("RateLimitStore", name, rateLimitCases as Cases<A, RateLimitContractOptions<A>>, makeAdapter, {
    ...options,
    capabilities: new Set(),
  });
}
