import { REDACTED } from "./config.ts";

/** Field names whose values are always replaced, at any depth. */
export const SENSITIVE_KEY =
  /authorization|cookie|passw(or)?d|secret|token|api[-_]?key|private[-_]?key|credential|session[-_]?id/i;

const MAX_DEPTH = 8;

/**
 * Turns any value into something safe to serialise: sensitive keys and known secret values
 * replaced, errors expanded with their cause chain, cycles and depth cut, bigints stringified.
 * Never throws.
 */
export class Redactor {
  #secrets: string[] = [];

  /** Registers raw secret values; any string containing one has it masked. Short values are ignored. */
  addSecrets(values: Iterable<string>): void {
    for (const value of values) {
      if (value.length >= 4 && !this.#secrets.includes(value)) this.#secrets.push(value);
    }
    this.#secrets.sort((a, b) => b.length - a.length);
  }

  /** Masks every registered secret inside a string. */
  string(text: string): string {
    let out = text;
    for (const s of this.#secrets) if (out.includes(s)) out = out.replaceAll(s, REDACTED);
    return out;
  }

  /** Returns a redacted, JSON-safe copy of `value`. */
  value(value: unknown, seen: WeakSet<object> = new WeakSet(), depth = 0): unknown {
    switch (typeof value) {
      case "string":
        return this.#secrets.length === 0 ? value : this.string(value);
      case "number":
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
      if (object instanceof Error) return this.#error(object, seen, depth);
      if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
      if (Array.isArray(object)) return object.map((item) => this.value(item, seen, depth + 1));
      if (object instanceof Map) return this.value(Object.fromEntries(object), seen, depth + 1);
      if (object instanceof Set) return this.value([...object], seen, depth + 1);
      if (object instanceof Headers) return this.value(Object.fromEntries(object), seen, depth + 1);
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(object)) {
        out[key] =
          SENSITIVE_KEY.test(key) && item !== undefined && item !== null ? REDACTED : this.value(item, seen, depth + 1);
      }
      return out;
    } catch {
      return "[Unserializable]";
    } finally {
      seen.delete(object);
    }
  }

  #error(error: Error, seen: WeakSet<object>, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = { name: error.name, message: this.string(error.message) };
    const extra = error as Error & { code?: unknown; retryable?: unknown; errors?: unknown };
    if (extra.code !== undefined) out.code = this.value(extra.code, seen, depth + 1);
    if (extra.retryable !== undefined) out.retryable = extra.retryable;
    if (error.stack) out.stack = this.string(error.stack);
    if (Array.isArray(extra.errors)) out.errors = extra.errors.map((e) => this.value(e, seen, depth + 1));
    if (error.cause !== undefined) out.cause = this.value(error.cause, seen, depth + 1);
    for (const [key, item] of Object.entries(error)) {
      if (!(key in out)) out[key] = SENSITIVE_KEY.test(key) ? REDACTED : this.value(item, seen, depth + 1);
    }
    return out;
  }
}
