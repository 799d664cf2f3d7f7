import type { Lease, Lock } from "../contracts/lock.ts";
import { markEmbedded } from "../token.ts";
import { checkTtl, type MemoryOptions } from "./options.ts";

interface Held {
  readonly owner: string;
  readonly expiresAt: number;
}

/**
 * Creates the in-process {@link Lock}. Each call checks and takes the lock synchronously, so
 * concurrent `acquire` calls in one process admit exactly one.
 *
 * Honest limits: single process only; two replicas each have their own locks, so this does not keep
 * a scheduled job to one replica: give the scheduler a shared Lock (redis) when you run more
 * than one. Locks are forgotten on restart. Expiry is lazy, and expired locks are swept out as
 * new ones are taken, so keys taken once and left to expire do not pile up; it holds no timer.
 *
 * @example
 * ```ts
 * import { memoryLock } from "@twelvefold/kernel/memory";
 * const lock = memoryLock();
 * const lease = await lock.acquire("job:nightly", 30_000);
 * if (lease) try { await run(); } finally { await lock.release(lease); }
 * ```
 */
export function memoryLock(options: MemoryOptions = {}): Lock {
  return markEmbedded(new MemoryLock(options.now ?? Date.now), { name: "memory Lock", losesData: false });
}

class MemoryLock implements Lock {
  readonly #held = new Map<string, Held>();
  readonly #now: () => number;
  /** The size at which acquire next sweeps out expired locks: twice what was left by the last sweep. */
  #sweepAt = 1024;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The live holder of `key`; an expired one is dropped on the way. */
  #holder(key: string, now: number): Held | undefined {
    const held = this.#held.get(key);
    if (held !== undefined && held.expiresAt <= now) {
      this.#held.delete(key);
      return undefined;
    }
    return held;
  }

  async acquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    checkTtl("memory Lock", ttlMs);
    const now = this.#now();
    if (this.#holder(key, now) !== undefined) return undefined;
    const held = { owner: crypto.randomUUID(), expiresAt: now + ttlMs };
    this.#held.set(key, held);
    // Keys that are taken once and left to expire (the scheduler's, one per occurrence) would
    // otherwise stay forever; sweeping when the map doubles keeps the cost constant per acquire.
    if (this.#held.size >= this.#sweepAt) this.#sweep(now);
    return { key, ...held };
  }

  #sweep(now: number): void {
    for (const [key, held] of this.#held) if (held.expiresAt <= now) this.#held.delete(key);
    this.#sweepAt = Math.max(1024, this.#held.size * 2);
  }

  /** Locks held, expired ones included until swept (for tests). */
  get size(): number {
    return this.#held.size;
  }

  async release(lease: Pick<Lease, "key" | "owner">): Promise<boolean> {
    if (this.#holder(lease.key, this.#now())?.owner !== lease.owner) return false;
    this.#held.delete(lease.key);
    return true;
  }

  async extend(lease: Pick<Lease, "key" | "owner">, ttlMs: number): Promise<Lease | undefined> {
    checkTtl("memory Lock", ttlMs);
    const now = this.#now();
    if (this.#holder(lease.key, now)?.owner !== lease.owner) return undefined;
    const held = { owner: lease.owner, expiresAt: now + ttlMs };
    this.#held.set(lease.key, held);
    return { key: lease.key, ...held };
  }
}
