/** A circuit breaker's state. */
export type BreakerState = "closed" | "open" | "half_open";

/** When a breaker opens and how long it stays open. */
export interface BreakerOptions {
  /** Failures within `windowMs` that open the breaker (LLM_BREAKER_FAILURES); 0 turns breaking off. */
  readonly failures: number;
  /** The window failures are counted in, in ms (LLM_BREAKER_WINDOW_MS). */
  readonly windowMs: number;
  /** How long it stays open before letting one probe through, in ms (LLM_BREAKER_COOLDOWN_MS). */
  readonly cooldownMs: number;
}

/** The breaker options with the plugin's defaults. */
export const defaultBreakerOptions: BreakerOptions = { failures: 5, windowMs: 30_000, cooldownMs: 30_000 };

/** What {@link CircuitBreaker.admit} answers. */
export type Admission =
  | { readonly allowed: true; readonly probe: boolean }
  | { readonly allowed: false; readonly retryAfterMs: number };

/**
 * A circuit breaker for one provider and model. Closed, it counts failures in a sliding window
 * and opens when they reach the threshold; open, it refuses calls until the cooldown has passed;
 * then it half-opens and lets exactly one probe through: the probe's success closes it, its
 * failure opens it again for another cooldown.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failures: 5, windowMs: 30_000, cooldownMs: 30_000 });
 * const admission = breaker.admit();
 * if (!admission.allowed) throw tooSoon(admission.retryAfterMs);
 * try { await call(); breaker.success(); } catch (e) { breaker.failure(); throw e; }
 * ```
 */
export class CircuitBreaker {
  readonly #options: BreakerOptions;
  readonly #now: () => number;
  readonly #onChange: ((state: BreakerState) => void) | undefined;
  #state: BreakerState = "closed";
  #failures: number[] = [];
  #openedAt = 0;
  #probing = false;

  constructor(options: BreakerOptions, hooks: { now?: () => number; onChange?: (state: BreakerState) => void } = {}) {
    this.#options = options;
    this.#now = hooks.now ?? (() => performance.now());
    this.#onChange = hooks.onChange;
  }

  /** The state now (an open breaker whose cooldown has passed reads as half-open). */
  get state(): BreakerState {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.#options.cooldownMs) return "half_open";
    return this.#state;
  }

  /** Whether a call may go ahead now; a half-open breaker admits one probe at a time. */
  admit(): Admission {
    if (this.#options.failures <= 0) return { allowed: true, probe: false };
    const state = this.state;
    if (state === "closed") return { allowed: true, probe: false };
    if (state === "half_open" && !this.#probing) {
      if (this.#state !== "half_open") this.#set("half_open");
      this.#probing = true;
      return { allowed: true, probe: true };
    }
    const left = this.#options.cooldownMs - (this.#now() - this.#openedAt);
    return { allowed: false, retryAfterMs: Math.max(0, Math.ceil(left)) };
  }

  /** The call reached a working provider (a 400 counts: the provider answered). */
  success(): void {
    this.#probing = false;
    this.#failures = [];
    if (this.#state !== "closed") this.#set("closed");
  }

  /** The call failed in a way that says the provider or model is in trouble. */
  failure(): void {
    if (this.#options.failures <= 0) return;
    const now = this.#now();
    if (this.#state === "half_open" || this.#probing) {
      this.#probing = false;
      this.#open(now);
      return;
    }
    if (this.#state === "open") return;
    this.#failures = this.#failures.filter((at) => now - at < this.#options.windowMs);
    this.#failures.push(now);
    if (this.#failures.length >= this.#options.failures) this.#open(now);
  }

  /** A probe that ended without a verdict (the caller cancelled): let another one through. */
  release(): void {
    this.#probing = false;
  }

  #open(now: number): void {
    this.#openedAt = now;
    this.#failures = [];
    this.#set("open");
  }

  #set(state: BreakerState): void {
    this.#state = state;
    this.#onChange?.(state);
  }
}
