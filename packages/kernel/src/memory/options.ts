/** Options shared by the memory adapters. */
export interface MemoryOptions {
  /** Epoch-millisecond clock, injectable so tests can move time without sleeping (default `Date.now`). */
  readonly now?: () => number;
}

/** Throws a RangeError unless `ms` is a positive finite number of milliseconds. */
export function checkTtl(adapter: string, ms: number, what = "ttlMs"): void {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(`${adapter}: ${what} must be a positive number of milliseconds: got "${ms}"`);
  }
}
