import type { RateLimitResult, RateLimitStore } from "@twelvefold/kernel";
import type { RedisConnection, Script } from "./connection.ts";

/** One round trip per hit: count, start the window on the first hit, report what is left of it. */
const hitScript: Script = {
  name: "rate-limit hit",
  source: `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`,
};

/**
 * The {@link RateLimitStore} on Redis: a fixed window per key, counted by one Lua script per hit,
 * so N replicas hitting one key admit exactly the limit between them. The window starts at the
 * key's first hit and ends on Redis's clock.
 *
 * @example
 * ```ts
 * const store = redisRateLimitStore(connection);
 * const { allowed, remaining } = await store.hit("ip:203.0.113.9", 100, 60_000);
 * ```
 */
export function redisRateLimitStore(connection: RedisConnection): RateLimitStore {
  const base = `${connection.prefix}rl:`;
  return {
    async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
      if (!Number.isInteger(limit) || limit < 1) {
        throw new RangeError(`redis RateLimitStore: limit must be a positive integer: got "${limit}"`);
      }
      if (!Number.isInteger(windowMs) || windowMs < 1) {
        throw new RangeError(`redis RateLimitStore: windowMs must be a positive integer: got "${windowMs}"`);
      }
      const [count, ttl] = await connection.eval<[number, number]>(
        hitScript,
        [base + key],
        [String(windowMs)],
        "rate-limit hit",
      );
      return {
        allowed: count <= limit,
        limit,
        remaining: Math.max(0, limit - count),
        resetMs: Math.min(windowMs, Math.max(1, ttl)),
      };
    },
    async reset(key: string): Promise<void> {
      await connection.send(["UNLINK", base + key], "rate-limit reset");
    },
  };
}
