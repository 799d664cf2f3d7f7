import { memoryLock } from "../memory/lock.ts";
import { token } from "../token.ts";

/** A held lock. Pass it back to `release` or `extend`. */
export interface Lease {
  readonly key: string;
  /** A random id unique to this acquisition; only its holder may release or extend. */
  readonly owner: string;
  /** Epoch milliseconds after which the lock lapses unless extended. */
  readonly expiresAt: number;
}

/**
 * The Lock contract: a mutual-exclusion lease with a time to live, e.g. so that one replica of
 * the scheduler runs a job.
 *
 * Every adapter must guarantee:
 * - among N concurrent `acquire` calls on a free key exactly one gets a lease;
 * - `release` and `extend` succeed only for the current owner; a stale lease is refused;
 * - once the TTL passes without an extend, another caller can acquire the key.
 */
export interface Lock {
  /** Takes the lock if free; `undefined` when someone else holds it. */
  acquire(key: string, ttlMs: number): Promise<Lease | undefined>;
  /** Releases the lock; false when the lease is no longer the owner. */
  release(lease: Pick<Lease, "key" | "owner">): Promise<boolean>;
  /** Pushes the expiry to now + ttlMs; `undefined` when the lease is no longer the owner. */
  extend(lease: Pick<Lease, "key" | "owner">, ttlMs: number): Promise<Lease | undefined>;
}

/** The app's lock: the memory adapter unless a plugin (redis) provides one. */
export const Lock = token<Lock>("twelvefold/Lock", { fallback: () => memoryLock() });
