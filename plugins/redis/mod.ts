/**
 * @module
 * The redis plugin: the kernel's Cache, RateLimitStore, Queue (Redis Streams consumer groups)
 * and Lock over one node-redis client, plus a dedicated connection per blocking read loop.
 * Without REDIS_URL it provides the kernel's memory adapters and never loads node-redis.
 *
 * @example
 * ```ts
 * import { createApp, definePlugin, Queue } from "@twelvefold/kernel";
 * import { redis } from "@twelvefold/redis";
 *
 * const emails = definePlugin({
 *   name: "emails",
 *   requires: [Queue],
 *   start({ get, logger }) {
 *     get(Queue).consume("emails", async (message) => logger.info("sending", { to: message.payload }), {
 *       concurrency: 10,
 *     });
 *   },
 * });
 *
 * // REDIS_URL=redis://127.0.0.1:6379
 * await createApp({ name: "mailer", plugins: [redis(), emails] }).run();
 * ```
 */
export { type RedisCacheOptions, redisCache } from "./src/cache.ts";
export { redisConfig } from "./src/config.ts";
export {
  BlockingConnection,
  connectRedis,
  type RedisConnection,
  type RedisConnectionOptions,
  type Script,
} from "./src/connection.ts";
export { RedisError, type RedisErrorCode, redisErrors } from "./src/errors.ts";
export { type RedisEventLog, type RedisEventLogOptions, redisEventLog } from "./src/event-log.ts";
export { redisLock } from "./src/lock.ts";
export { type RedisOptions, redis } from "./src/plugin.ts";
export { type RedisQueue, type RedisQueueOptions, redisQueue } from "./src/queue.ts";
export { redisRateLimitStore } from "./src/rate-limit.ts";
