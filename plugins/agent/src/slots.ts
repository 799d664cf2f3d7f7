import type { Lease, Lock } from "@twelvefold/kernel";

/**
 * Runs in flight per user, counted with the Lock contract so every web replica sees the same
 * count: a user has `max` slots (`agent:slots:<user>:<n>`), a run takes a free one and its worker
 * frees it when the run ends. A slot also lapses after `ttlMs`, so a run lost for good (its log
 * expired, its job dead-lettered) cannot hold one forever.
 */
export async function takeSlot(
  lock: Lock,
  user: string,
  options: { max: number; ttlMs: number },
): Promise<Lease | undefined> {
  const base = `agent:slots:${encodeURIComponent(user)}:`;
  for (let n = 0; n < options.max; n++) {
    const lease = await lock.acquire(base + n, options.ttlMs);
    if (lease) return lease;
  }
  return undefined;
}
