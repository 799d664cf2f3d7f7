/** A typed service key. The phantom `T` ties `get(token)` to the service's type. */
export interface Token<T> {
  /** Namespaced id, e.g. `"twelvefold/Cache"`, unique per service. */
  readonly id: string;
  /** Built when nobody provides the token (Spring Boot's "conditional on missing bean"). */
  readonly fallback?: FallbackFactory<T>;
  /** Phantom field; never set at run time. */
  readonly __type?: T;
}

/** What a fallback factory learns about the app it serves. */
export interface FallbackContext {
  readonly profile: string;
}

/** Builds a token's embedded default; see {@link token}. */
export type FallbackFactory<T> = (context: FallbackContext) => T;

/** The service type behind a token. */
export type TokenType<K> = K extends Token<infer T> ? T : never;

/**
 * Names a service. Tokens are compared by identity; the id is for messages.
 *
 * @example
 * ```ts
 * interface Clock { now(): number }
 * const Clock = token<Clock>("acme/Clock");
 * ```
 */
export function token<T>(id: string, options?: { fallback?: FallbackFactory<T> }): Token<T> {
  return Object.freeze({ id, fallback: options?.fallback });
}

/** An override entry: the value replaces whatever a plugin provides for the token. */
export interface Override<T = unknown> {
  readonly token: Token<T>;
  readonly value: T;
}

/**
 * Pairs a token with a replacement value, for tests and for wiring an app by hand.
 *
 * @example
 * ```ts
 * createApp({ name: "t", plugins, overrides: [override(Cache, fakeCache)] });
 * ```
 */
export function override<T>(token: Token<T>, value: T): Override<T> {
  return { token: token as Token<unknown>, value } as Override<T>;
}

const embeddedKey = Symbol.for("twelvefold.embedded");

/** How an embedded (in-process) adapter describes itself, so the production profile can refuse it. */
export interface EmbeddedInfo {
  /** Adapter name for messages, e.g. `"memory Queue"`. */
  readonly name: string;
  /** True when a restart or a second replica would lose or split its data. */
  readonly losesData: boolean;
}

/**
 * Marks a value as an embedded default. The production profile refuses any provided value
 * marked `losesData`, so a forgotten REDIS_URL cannot silently drop jobs.
 */
export function markEmbedded<T extends object>(value: T, info: EmbeddedInfo): T {
  Object.defineProperty(value, embeddedKey, { value: info, enumerable: false });
  return value;
}

/** Reads the mark set by {@link markEmbedded}. */
export function embeddedInfo(value: unknown): EmbeddedInfo | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  return (value as { [embeddedKey]?: EmbeddedInfo })[embeddedKey];
}
