/**
 * @module
 * The embedded, in-process adapters of the kernel's service contracts: Cache, RateLimitStore,
 * Queue, Lock and EventLog. They need no server, so an app with nothing configured runs as it is;
 * the kernel builds them as the tokens' fallbacks when no plugin provides one. Each is
 * single-process and forgets everything on restart; the production profile refuses the queue and
 * the event log, which would lose jobs and run events.
 *
 * @example
 * ```ts
 * import { memoryCache, memoryLock, memoryQueue, memoryRateLimitStore } from "@twelvefold/kernel/memory";
 * import { Cache, createApp, override } from "@twelvefold/kernel";
 *
 * const app = createApp({ name: "t", plugins: [], overrides: [override(Cache, memoryCache())] });
 * ```
 */
export { memoryCache } from "./src/memory/cache.ts";
export { type MemoryEventLog, memoryEventLog } from "./src/memory/event-log.ts";
export { memoryLock } from "./src/memory/lock.ts";
export type { MemoryOptions } from "./src/memory/options.ts";
export { type MemoryQueue, memoryQueue } from "./src/memory/queue.ts";
export { memoryRateLimitStore } from "./src/memory/rate-limit.ts";
