import {
  Cache,
  ConfigError,
  type ConfigOptions,
  definePlugin,
  EventLog,
  Lock,
  type Plugin,
  Queue,
  RateLimitStore,
  Tracer,
  token,
} from "@twelvefold/kernel";
import { memoryCache, memoryEventLog, memoryLock, memoryQueue, memoryRateLimitStore } from "@twelvefold/kernel/memory";
import { redisCache } from "./cache.ts";
import { redisConfig } from "./config.ts";
import { connectRedis, type RedisConnection } from "./connection.ts";
import { redisEventLog } from "./event-log.ts";
import { redisLock } from "./lock.ts";
import { redisQueue } from "./queue.ts";
import { redisRateLimitStore } from "./rate-limit.ts";

/**
 * The app's connection, for its health check; none on the memory adapters. Internal: other
 * plugins use the kernel's contracts, never the connection.
 */
const Connection = token<{ readonly connection: RedisConnection | undefined }>("twelvefold/redis/Connection");

/** Options of {@link redis}: config values that win over the environment, validated like it. */
export type RedisOptions = ConfigOptions<typeof redisConfig>;

/** Refuses (production) or warns about (elsewhere) a server that may evict the queue's and the lock's keys. */
async function checkEviction(connection: RedisConnection, production: boolean, warn: (message: string) => void) {
  const policy = await connection.evictionPolicy();
  if (policy === undefined || policy === "noeviction") return;
  const { address, port } = connection.server;
  if (production) {
    throw new ConfigError([
      {
        plugin: "redis",
        name: "maxmemory-policy",
        expected: '"noeviction" (an evicted key is a lost job or a lock held twice)',
        received: JSON.stringify(policy),
        source: `the server at "${address}:${port}"`,
      },
    ]);
  }
  warn(
    `redis: the server at "${address}:${port}" has maxmemory-policy "${policy}": under memory pressure it may evict queued jobs and held locks; production refuses this, set it to "noeviction"`,
  );
}

/**
 * The redis plugin: the kernel's Cache, RateLimitStore, Queue (Redis Streams), Lock and EventLog
 * (Redis Streams) over one node-redis client, with a dedicated connection per blocking read loop. Without REDIS_URL it
 * provides the memory adapters instead, says once that the app runs single-process, and never
 * loads node-redis; production requires REDIS_URL. At start it refuses (production) or warns
 * about a server whose `maxmemory-policy` could evict keys. While the server is away, commands
 * fail at once with a retryable error, health is down, and consumers pause and resume by
 * themselves. On drain, every consumer of the queue finishes its jobs in hand up to the deadline.
 *
 * @example
 * ```ts
 * import { createApp } from "@twelvefold/kernel";
 * import { redis } from "@twelvefold/redis";
 *
 * await createApp({ name: "agent", plugins: [redis()] }).run(); // REDIS_URL=redis://127.0.0.1:6379
 * ```
 */
export function redis(options: RedisOptions = {}): Plugin {
  return definePlugin({
    name: "redis",
    config: redisConfig,
    options,
    optional: [Tracer],
    provides: [Cache, RateLimitStore, Queue, Lock, EventLog, Connection],
    async start({ config, profile, logger, find, provide, onDrain, onStop }) {
      if (config.REDIS_URL === undefined) {
        logger.warn(
          "redis: REDIS_URL is not set: running single-process on the memory adapters (cache, rate limits, queue, locks and event logs are not shared with other processes, and the queue and event logs are lost on restart)",
        );
        const queue = memoryQueue();
        provide(Queue, queue);
        provide(Cache, memoryCache());
        provide(RateLimitStore, memoryRateLimitStore());
        provide(Lock, memoryLock());
        const events = memoryEventLog();
        provide(EventLog, events);
        provide(Connection, { connection: undefined });
        onStop(() => events.close());
        onDrain((deadline) => queue.close({ signal: deadline }));
        onStop(() => queue.close());
        return;
      }
      const connection = await connectRedis({
        url: config.REDIS_URL,
        prefix: config.REDIS_KEY_PREFIX,
        connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS,
        logger,
        tracer: find(Tracer),
      });
      // Registered first, so it runs last: after the queue's consumers have stopped.
      onStop(() => connection.close());
      await checkEviction(connection, profile === "production", (message) => logger.warn(message));
      const queue = redisQueue(connection, { logger });
      provide(Queue, queue);
      provide(Cache, redisCache(connection, { defaultTtlMs: config.REDIS_TTL && config.REDIS_TTL * 1000 }));
      provide(RateLimitStore, redisRateLimitStore(connection));
      provide(Lock, redisLock(connection));
      const events = redisEventLog(connection);
      provide(EventLog, events);
      provide(Connection, { connection });
      onStop(() => events.close());
      onDrain((deadline) => queue.close({ signal: deadline }));
      onStop(() => queue.close({ signal: AbortSignal.timeout(1_000) }));
      const { address, port, database } = connection.server;
      logger.info("redis: connected", { server: `${address}:${port}`, database, prefix: config.REDIS_KEY_PREFIX });
    },
    async health({ find, signal }) {
      const connection = find(Connection)?.connection;
      if (connection === undefined) return { status: "up", detail: "memory adapters (single process)" };
      try {
        await connection.ping(AbortSignal.any([signal, AbortSignal.timeout(1_000)]));
        return { status: "up" };
      } catch (error) {
        return { status: "down", detail: error instanceof Error ? error.message : String(error) };
      }
    },
  });
}
