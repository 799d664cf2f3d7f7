import type { HealthCheck, HealthReport, HealthStatus, Lifecycle, Phase } from "./contracts/health.ts";

/**
 * The app's phase and readiness, and the in-flight work set: the kernel's implementation of the
 * {@link Lifecycle} contract that plugins read (the http plugin's `/readyz`, queue consumers).
 * It only holds state; the lifecycle engine (lifecycle.ts) moves it.
 */
export class AppState implements Lifecycle {
  phase: Phase = "created";
  readonly #draining = new AbortController();
  readonly #work = new Set<Promise<unknown>>();
  readonly #counts = new Set<() => number>();
  readonly #health: () => Promise<HealthReport>;

  constructor(health: () => Promise<HealthReport>) {
    this.#health = health;
  }

  get ready(): boolean {
    return this.phase === "ready";
  }

  get draining(): AbortSignal {
    return this.#draining.signal;
  }

  get inFlight(): number {
    let total = this.#work.size;
    for (const count of this.#counts) total += count();
    return total;
  }

  countInFlight(count: () => number): () => void {
    this.#counts.add(count);
    return () => this.#counts.delete(count);
  }

  health(): Promise<HealthReport> {
    return this.#health();
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.#work.add(work);
    const forget = () => this.#work.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Flips readiness off and tells every plugin that draining began. */
  beginDrain(reason: string): void {
    if (this.phase === "ready" || this.phase === "starting") this.phase = "draining";
    if (!this.#draining.signal.aborted) this.#draining.abort(new Error(reason));
  }

  /** Resolves when every tracked piece of work has settled, including work added meanwhile. */
  async settled(): Promise<void> {
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
  }
}

/** The worst of the statuses: down beats degraded beats up. */
export function worstStatus(checks: Iterable<HealthCheck>): HealthStatus {
  let status: HealthStatus = "up";
  for (const check of checks) {
    if (check.status === "down") return "down";
    if (check.status === "degraded") status = "degraded";
  }
  return status;
}
