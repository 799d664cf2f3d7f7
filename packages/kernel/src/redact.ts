import { REDACTED } from "./config.ts";

/**
 * Field names whose values are always replaced, at any depth. `token` matches `access_token` and
 * `x-auth-token` but not counts such as `input_tokens` or `token_count`, which LLM usage logs need.
 */
export const SENSITIVE_KEY =
  /authorization|cookie|passw(or)?d|secret|token(?!s|_?counts?|_?usage|i[sz]er)|api[-_]?key|private[-_]?key|credential|signature/i;

const MAX_DEPTH = 8;
const MAX_ARRAY = 1000;
const KEY_CACHE_LIMIT = 2048;
/** `scheme://user:password@` in any string, e.g. a connection URL quoted in an error message. */
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@/?#\s]+@/gi;
/** The same inside JSON text, where a quote or backslash ends the string the URL is in. */
const JSON_URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"\\]*:)[^@/?#\s"\\]+@/gi;

/**
 * Turns any value into something safe to serialise: sensitive keys and known secret values
 * replaced, passwords in URLs masked, errors expanded with their cause chain, cycles and depth cut,
 * bigints stringified. Never throws.
 *
 * @example
 * ```ts
 * const redactor = new Redactor();
 * redactor.addSecrets(["s3cr3t-value"]);
 * redactor.value({ headers: { authorization: "Bearer x" }, note: "key=s3cr3t-value" });
 * // { headers: { authorization: "[redacted]" }, note: "key=[redacted]" }
 * ```
 */
export class Redactor {
  #secrets: string[] = [];
  /** The secrets as they appear inside a JSON string (quotes and backslashes escaped). */
  #escaped: string[] = [];
  #version = 0;
  // Log lines reuse a small set of field names; caching the regex verdict keeps the hot path cheap.
  #keys = new Map<string, boolean>();

  /** Registers raw secret values; any string containing one has it masked. Short values are ignored. */
  addSecrets(values: Iterable<string>): void {
    for (const value of values) {
      if (value.length >= 4 && !this.#secrets.includes(value)) {
        this.#secrets.push(value);
        this.#version++;
      }
    }
    this.#secrets.sort((a, b) => b.length - a.length);
    this.#escaped = this.#secrets.map((secret) => JSON.stringify(secret).slice(1, -1));
  }

  /** True when a field of this name has its value replaced. */
  sensitive(key: string): boolean {
    let verdict = this.#keys.get(key);
    if (verdict === undefined) {
      verdict = SENSITIVE_KEY.test(key);
      if (this.#keys.size >= KEY_CACHE_LIMIT) this.#keys.clear();
      this.#keys.set(key, verdict);
    }
    return verdict;
  }

  /** Masks every registered secret, and any password in a URL, inside a string. */
  string(text: string): string {
    let out = text;
    for (const s of this.#secrets) if (out.includes(s)) out = out.replaceAll(s, REDACTED);
    // "@" is rarer than "://" in log text, so it is the cheaper first test.
    if (out.includes("@") && out.includes("://")) out = out.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
    return out;
  }

  /**
   * Masks every registered secret, and any password in a URL, inside JSON text (a serialised
   * line), leaving its structure intact.
   */
  json(text: string): string {
    let out = text;
    for (const s of this.#escaped) if (out.includes(s)) out = out.replaceAll(s, REDACTED);
    if (out.includes("@") && out.includes("://")) out = out.replace(JSON_URL_CREDENTIALS, `$1${REDACTED}@`);
    return out;
  }

  /** Returns a redacted, JSON-safe copy of `value`. */
  value(value: unknown): unknown {
    return this.#value(value, new WeakSet(), 0);
  }

  /**
   * Redacts the values of a record the caller owns, in place (nested objects are copied, not
   * mutated).
   */
  fields(record: Record<string, unknown>): Record<string, unknown> {
    for (const key in record) {
      const item = record[key];
      const safe = this.field(key, item);
      // Writing back only what changed keeps the common case (nothing to mask) to a read per field.
      if (safe !== item) record[key] = safe;
    }
    return record;
  }

  /** The redacted value of one field: replaced when the key is sensitive, else made safe like {@link value}. */
  field(key: string, item: unknown): unknown {
    if (item === undefined || item === null || typeof item === "number" || typeof item === "boolean") return item;
    if (this.sensitive(key)) return REDACTED;
    return typeof item === "string" ? this.string(item) : this.#value(item, new WeakSet(), 1);
  }

  /** Changes whenever secrets are added, so cached redacted values know to be redone. */
  get version(): number {
    return this.#version;
  }

  #value(value: unknown, seen: WeakSet<object>, depth: number): unknown {
    switch (typeof value) {
      case "string":
        return this.string(value);
      case "number":
        return Number.isFinite(value) ? value : String(value);
      case "boolean":
      case "undefined":
        return value;
      case "bigint":
        return value.toString();
      case "symbol":
      case "function":
        return String(value);
    }
    if (value === null) return null;
    const object = value as object;
    if (seen.has(object)) return "[Circular]";
    if (depth >= MAX_DEPTH) return "[Truncated]";
    seen.add(object);
    try {
      return this.#object(object, seen, depth);
    } catch {
      return "[Unserializable]";
    } finally {
      seen.delete(object);
    }
  }

  #object(object: object, seen: WeakSet<object>, depth: number): unknown {
    if (object instanceof Error) return this.#error(object, seen, depth);
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
    if (Array.isArray(object)) {
      const out = object.slice(0, MAX_ARRAY).map((item) => this.#value(item, seen, depth + 1));
      if (object.length > MAX_ARRAY) out.push(`[${object.length - MAX_ARRAY} more]`);
      return out;
    }
    if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer)
      return `[${object.constructor.name} ${object.byteLength} bytes]`;
    if (object instanceof URL) return this.string(object.href);
    if (object instanceof RegExp) return String(object);
    if (object instanceof Map) return this.#value(Object.fromEntries(object), seen, depth + 1);
    if (object instanceof Set) return this.#value([...object], seen, depth + 1);
    if (object instanceof Headers) return this.#value(Object.fromEntries(object), seen, depth + 1);
    if (object instanceof Promise || object instanceof WeakMap || object instanceof WeakSet) {
      return `[${object.constructor.name}]`;
    }
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return this.#value(toJSON.call(object), seen, depth + 1);
    return this.#entries(object, {}, seen, depth);
  }

  /** Copies own enumerable fields; one field whose getter throws does not spoil its siblings. */
  #entries(object: object, out: Record<string, unknown>, seen: WeakSet<object>, depth: number) {
    for (const key of Object.keys(object)) {
      if (key in out) continue;
      let item: unknown;
      try {
        item = (object as Record<string, unknown>)[key];
      } catch {
        out[key] = "[Unserializable]";
        continue;
      }
      out[key] =
        this.sensitive(key) && item !== undefined && item !== null ? REDACTED : this.#value(item, seen, depth + 1);
    }
    return out;
  }

  #error(error: Error, seen: WeakSet<object>, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.string(String(error.name)),
      message: this.string(String(error.message)),
    };
    const extra = error as Error & { code?: unknown; retryable?: unknown; errors?: unknown };
    if (extra.code !== undefined) out.code = this.#value(extra.code, seen, depth + 1);
    if (extra.retryable !== undefined) out.retryable = this.#value(extra.retryable, seen, depth + 1);
    if (typeof error.stack === "string") out.stack = this.string(error.stack);
    if (Array.isArray(extra.errors)) out.errors = this.#value(extra.errors, seen, depth + 1);
    if (error.cause !== undefined) out.cause = this.#value(error.cause, seen, depth + 1);
    return this.#entries(error, out, seen, depth);
  }
}
