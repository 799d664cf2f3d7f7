import { expect } from "bun:test";
import type { Lease, Lock } from "@twelvefold/kernel";
import { type AdapterFactory, type Cases, type ContractCase, registerSuite, type SuiteOptions, sleep } from "./case.ts";

/** Options of {@link lockContract}. The contract has no optional behaviour. */
export type LockContractOptions<A extends Lock = Lock> = SuiteOptions<A>;

async function held(lock: Lock, key: string): Promise<Lease> {
  const lease = await lock.acquire(key, 10_000);
  expect(lease).toBeDefined();
  return lease as Lease;
}

/** The Lock contract's cases, as data (see {@link runCase}). */
export const lockCases: readonly ContractCase<Lock, LockContractOptions>[] = [
  {
    name: "acquire on a free key returns a lease with an owner and an expiry",
    async run(lock, { unique }) {
      const key = unique("job");
      const before = Date.now();
      const lease = await lock.acquire(key, 5_000);
      expect(lease?.key).toBe(key);
      expect(typeof lease?.owner).toBe("string");
      expect(lease?.owner.length).toBeGreaterThan(0);
      // Loose bounds: a server's clock may differ from ours by a little.
      expect(lease?.expiresAt).toBeGreaterThan(before + 4_000);
      expect(lease?.expiresAt).toBeLessThan(Date.now() + 6_000);
    },
  },
  {
    name: "a held key cannot be acquired again",
    async run(lock, { unique }) {
      const key = unique("job");
      await held(lock, key);
      expect(await lock.acquire(key, 10_000)).toBeUndefined();
    },
  },
  {
    name: "only the owner can release; then the key is free for a new owner",
    async run(lock, { unique }) {
      const key = unique("job");
      const lease = await held(lock, key);
      expect(await lock.release({ key, owner: "someone-else" })).toBe(false);
      expect(await lock.acquire(key, 10_000)).toBeUndefined();
      expect(await lock.release(lease)).toBe(true);
      expect(await lock.release(lease)).toBe(false);
      const next = await held(lock, key);
      expect(next.owner).not.toBe(lease.owner);
    },
  },
  {
    name: "extend works only for the owner and pushes the expiry",
    async run(lock, { unique }) {
      const key = unique("job");
      const lease = await lock.acquire(key, 100);
      expect(lease).toBeDefined();
      expect(await lock.extend({ key, owner: "someone-else" }, 10_000)).toBeUndefined();
      const extended = await lock.extend(lease as Lease, 10_000);
      expect(extended?.owner).toBe(lease?.owner);
      expect(extended?.expiresAt).toBeGreaterThan((lease as Lease).expiresAt);
      await sleep(200);
      expect(await lock.acquire(key, 10_000)).toBeUndefined();
      expect(await lock.release(lease as Lease)).toBe(true);
      expect(await lock.extend(lease as Lease, 10_000)).toBeUndefined();
    },
  },
  {
    name: "expiry lets another owner in, and the stale lease can no longer release or extend",
    async run(lock, { unique, eventually }) {
      const key = unique("job");
      const stale = await lock.acquire(key, 100);
      expect(stale).toBeDefined();
      const fresh = await eventually("acquire after a 100 ms TTL", () => lock.acquire(key, 10_000));
      expect(fresh.owner).not.toBe(stale?.owner);
      expect(await lock.release(stale as Lease)).toBe(false);
      expect(await lock.extend(stale as Lease, 10_000)).toBeUndefined();
      expect(await lock.acquire(key, 10_000)).toBeUndefined();
      expect(await lock.release(fresh)).toBe(true);
    },
  },
  {
    name: "among 20 concurrent acquirers of a free key exactly one gets it",
    async run(lock, { unique }) {
      const key = unique("job");
      const leases = await Promise.all(Array.from({ length: 20 }, () => lock.acquire(key, 10_000)));
      expect(leases.filter((l) => l !== undefined).length).toBe(1);
    },
  },
  {
    name: "keys are independent",
    async run(lock, { unique }) {
      await held(lock, unique("a"));
      await held(lock, unique("b"));
    },
  },
];

/**
 * Registers the Lock contract suite for an adapter.
 *
 * @example
 * ```ts
 * import { lockContract } from "@twelvefold/testing";
 * lockContract("memory", () => memoryLock());
 * ```
 */
export function lockContract<A extends Lock>(
  name: string,
  makeAdapter: AdapterFactory<A>,
  options: LockContractOptions<A> = {},
): void {
  registerSuite("Lock", name, lockCases as Cases<A, LockContractOptions<A>>, makeAdapter, {
    ...options,
    capabilities: new Set(),
  });
}
