import type { RateLimitResult, RateLimitStore } from "../contracts/rate-limit.ts";
import { markEmbedded } from "../token.ts";
import { checkTtl, type MemoryOptions } from "./options.ts";

interface Window {
  count: number;
  /** Epoch ms at which this window ends. */
  readonly endsAt: number;
}

/** Sweep ended windows once per this many hits, so one-off keys (client IPs) do not pile up. */
const SWEEP_EVERY = 1024;

/**
 * Creates the in-process {@link RateLimitStore}: fixed windows that start at a key's first hit.
 * `hit` answers synchronously (the result, not a promise of it), so it is atomic within one process
 * (not across replicas) and the rate limiter answers without a microtask turn; a limit or window
 * that makes no sense is a `RangeError` thrown at the call.
 *
 * Honest limits: single process (each replica counts alone, so N replicas admit N times the
 * limit), counts are lost on restart. Ended windows are swept lazily; it holds no timer.
 *
 * @example
 * ```ts
 * import { memoryRateLimitStore } from "@twelvefold/kernel/memory";
 * const store = memoryRateLimitStore();
 * const { allowed, remaining } = await store.hit("ip:203.0.113.9", 100, 60_000);
 * ```
 */
export function memoryRateLimitStore(options: MemoryOptions = {}): RateLimitStore {
  return markEmbedded(new MemoryRateLimitStore(options.now ?? Date.now), {
    name: "memory RateLimitStore",
    losesData: false,
  });
}

class MemoryRateLimitStore implements RateLimitStore {
  readonly #windows = new Map<string, Window>();
  readonly #now: () => number;
  #hits = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  hit(key: string, limit: number, windowMs: number): RateLimitResult {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`memory RateLimitStore: limit must be a positive integer: got "${limit}"`);
    }
    checkTtl("memory RateLimitStore", windowMs, "windowMs");
    const now = this.#now();
    if (++this.#hits % SWEEP_EVERY === 0) this.#sweep(now);
    let window = this.#windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      window = { count: 0, endsAt: now + windowMs };
      this.#windows.set(key, window);
    }
    window.count++;
    return {
      allowed: window.count <= limit,
      limit,
      remaining: Math.max(0, limit - window.count),
      resetMs: window.endsAt - now,
    };
  }

  async reset(key: string): Promise<void> {
    this.#windows.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(key);
  }
}
