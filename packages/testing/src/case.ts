import { describe, test } from "bun:test";
import { testingErrors } from "./errors.ts";

/** Builds a fresh adapter for one case; may be async (connect, flush a namespace). */
export type AdapterFactory<A> = () => A | Promise<A>;

/** Options every contract suite takes. */
export interface SuiteOptions<A> {
  /** Releases the adapter after each case (close a connection, stop timers). */
  readonly dispose?: (adapter: A) => void | Promise<void>;
  /**
   * How long a case waits for something that must happen eventually (a redelivery, an expiry)
   * before failing, in ms (default 2 000). Only a failing case waits that long.
   */
  readonly patienceMs?: number;
}

/** What a case gets besides the adapter. */
export interface CaseContext {
  /** A fresh name (`label-1a2b3c4d`), so cases never meet each other's keys on a shared server. */
  unique(label: string): string;
  /** Runs after the case, pass or fail, all cleanups at once: stop consumers, release latches. */
  defer(cleanup: () => unknown): void;
  /** Polls `check` until it returns something other than `undefined`/`false`, or fails after patience. */
  eventually<T>(what: string, check: () => T | Promise<T>): Promise<Exclude<T, undefined | false>>;
  /** The suite's patience in ms. */
  readonly patienceMs: number;
}

/**
 * One contract case, as data: the suites register these with bun:test, and anyone can run them
 * by hand with {@link runCase} (the kit's own tests run them against broken adapters).
 */
export interface ContractCase<A, O = unknown> {
  readonly name: string;
  /** A capability the adapter must have for this case to apply, e.g. `"ttl"`. */
  readonly needs?: string;
  run(adapter: A, context: CaseContext, options: O): Promise<void>;
}

/** A contract's case list, retyped for an adapter subtype (cases only use the contract's methods). */
export type Cases<A, O> = readonly ContractCase<A, O>[];

const DEFAULT_PATIENCE_MS = 2_000;
const POLL_MS = 5;

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve function outside, for holding a handler until the case lets go. */
export function latch(): { readonly promise: Promise<void>; release(): void } {
  let release = () => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

/**
 * Runs one case against a fresh adapter from `make`, then runs its cleanups and `dispose`,
 * whatever happened. Rejects with the case's failure.
 *
 * @example
 * ```ts
 * for (const c of cacheCases) await runCase(c, () => memoryCache(), {});
 * ```
 */
export async function runCase<A, O extends SuiteOptions<A>>(
  contractCase: ContractCase<A, O>,
  make: AdapterFactory<A>,
  options: O,
): Promise<void> {
  const patienceMs = options.patienceMs ?? DEFAULT_PATIENCE_MS;
  const cleanups: Array<() => unknown> = [];
  const context: CaseContext = {
    patienceMs,
    unique: (label) => `${label}-${crypto.randomUUID().slice(0, 8)}`,
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
    eventually: (what, check) => eventually(what, check, patienceMs),
  };
  const adapter = await make();
  try {
    await contractCase.run(adapter, context, options);
  } finally {
    // All at once: stopping a consumer may wait for a handler that another cleanup releases.
    // A cleanup stuck behind a broken adapter must not hang the run, hence the race.
    const all = Promise.allSettled(cleanups.map((cleanup) => Promise.resolve().then(cleanup)));
    await Promise.race([all, sleep(patienceMs)]);
    await options.dispose?.(adapter);
  }
}

async function eventually<T>(
  what: string,
  check: () => T | Promise<T>,
  patienceMs: number,
): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
    if (Date.now() >= deadline) {
      throw testingErrors.create("TF_TESTING_TIMEOUT", { what, patienceMs });
    }
    await sleep(POLL_MS);
  }
}

/** The cases that apply to an adapter with these capabilities. */
export function applicableCases<A, O>(
  cases: readonly ContractCase<A, O>[],
  capabilities: ReadonlySet<string>,
): ContractCase<A, O>[] {
  return cases.filter((c) => c.needs === undefined || capabilities.has(c.needs));
}

/** Registers a contract's cases as one bun:test `describe` block. */
export function registerSuite<A, O extends SuiteOptions<A>>(
  contract: string,
  name: string,
  cases: readonly ContractCase<A, O>[],
  make: AdapterFactory<A>,
  options: O & { readonly capabilities: ReadonlySet<string> },
): void {
  const applicable = applicableCases(cases, options.capabilities);
  const left = cases.filter((c) => !applicable.includes(c)).map((c) => c.needs);
  const without = left.length > 0 ? ` (without ${[...new Set(left)].join(", ")})` : "";
  describe(`${contract} contract: ${name}${without}`, () => {
    for (const contractCase of applicable) {
      test(contractCase.name, () => runCase(contractCase, make, options));
    }
  });
}
