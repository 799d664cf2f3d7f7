import type { Lease, Lock } from "@twelvefold/kernel";
import type { RedisConnection, Script } from "./connection.ts";

const releaseScript: Script = {
  name: "lock release",
  source: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
};

const extendScript: Script = {
  name: "lock extend",
  source: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`,
};

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1) {
    throw new RangeError(`redis Lock: ttlMs must be a positive integer of milliseconds: got "${ttlMs}"`);
  }
}

/**
 * The {@link Lock} on Redis: `SET key owner NX PX ttl` takes it, and release and extend check
 * the owner token in Lua, so a holder whose lease lapsed can never release or extend the next
 * holder's. Needs `maxmemory-policy noeviction` (the plugin checks at start): an evicted lock is
 * a lock two replicas hold.
 *
 * @example
 * ```ts
 * const lock = redisLock(connection);
 * const lease = await lock.acquire("job:nightly", 30_000);
 * if (lease) try { await run(); } finally { await lock.release(lease); }
 * ```
 */
export function redisLock(connection: RedisConnection): Lock {
  const base = `${connection.prefix}lock:`;
  return {
    async acquire(key: string, ttlMs: number): Promise<Lease | undefined> {
      checkTtl(ttlMs);
      const owner = crypto.randomUUID();
      const reply = await connection.send(["SET", base + key, owner, "NX", "PX", String(ttlMs)], "lock acquire");
      return reply === "OK" ? { key, owner, expiresAt: Date.now() + ttlMs } : undefined;
    },
    async release(lease: Pick<Lease, "key" | "owner">): Promise<boolean> {
      return (await connection.eval<number>(releaseScript, [base + lease.key], [lease.owner], "lock release")) === 1;
    },
    async extend(lease: Pick<Lease, "key" | "owner">, ttlMs: number): Promise<Lease | undefined> {
      checkTtl(ttlMs);
      const ok = await connection.eval<number>(
        extendScript,
        [base + lease.key],
        [lease.owner, String(ttlMs)],
        "lock extend",
      );
      return ok === 1 ? { key: lease.key, owner: lease.owner, expiresAt: Date.now() + ttlMs } : undefined;
    },
  };
}
