/** A clock that moves only when a test says so: occurrence tests run without real waiting. */
import type { Clock } from "../clock.ts";

interface Sleeper {
  readonly at: number;
  readonly resolve: () => void;
}

/** Lets every pending promise chain run (the scheduler awaits locks and jobs between timers). */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A manual clock starting at `start` (epoch ms). `advance` fires the sleepers it passes, in order. */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];

  constructor(start: number | string) {
    this.#now = typeof start === "string" ? Date.parse(start) : start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const sleeper: Sleeper = {
        at: this.#now + Math.max(0, ms),
        resolve: () => {
          this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
          resolve();
        },
      };
      this.#sleepers.push(sleeper);
      signal.addEventListener("abort", sleeper.resolve, { once: true });
    });
  }

  /** Moves time forward by `ms`, waking each sleeper at its own time and letting its work run. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const due = this.#sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#now = Math.max(this.#now, due.at);
      due.resolve();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /** Jumps forward by `ms` without waking anyone on the way (a suspended laptop, a blocked event loop). */
  async jump(ms: number): Promise<void> {
    this.#now += ms;
    await this.advance(0);
  }

  /** Sleepers waiting now. */
  get pending(): number {
    return this.#sleepers.length;
  }
}
