import type { LogContext, LogFields, Logger, LogLevel } from "./contracts/logger.ts";
import { Redactor } from "./redact.ts";

const rank: Record<LogLevel | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  readonly level?: LogLevel | "silent";
  /** `json` (default): one JSON object per line. `pretty`: a short readable line for a terminal. */
  readonly format?: "json" | "pretty";
  /** Where lines go; the runtime's bounded stdout writer in an app. */
  readonly write: (line: string) => unknown;
  /** Fields on every line, e.g. service, version, environment. */
  readonly base?: LogFields;
  /** Shared redactor, so config secrets registered once are masked everywhere. */
  readonly redactor?: Redactor;
  /** Wall clock for timestamps; injectable for tests. */
  readonly clock?: () => number;
}

/** The kernel's logger: the Logger contract plus the {@link LogContext} mixin registry. */
export interface KernelLogger extends Logger, LogContext {
  readonly redactor: Redactor;
  tap(listener: (line: string, level: LogLevel) => void): () => void;
  setLevel(level: LogLevel | "silent"): void;
  setFormat(format: "json" | "pretty"): void;
  /** The format lines are written in now. */
  readonly format: "json" | "pretty";
  setBase(fields: LogFields): void;
}

/** Fields that are the same on every line of a logger, redacted once per set of known secrets. */
class Constant {
  readonly #raw: LogFields;
  #safe: LogFields = {};
  #version = -1;
  constructor(raw: LogFields) {
    this.#raw = raw;
  }
  get(redactor: Redactor): LogFields {
    if (this.#version !== redactor.version) {
      this.#safe = redactor.fields({ ...this.#raw });
      this.#version = redactor.version;
    }
    return this.#safe;
  }
}

interface Shared {
  level: number;
  format: "json" | "pretty";
  base: Constant;
  mixins: Array<() => LogFields | undefined>;
  taps: Array<(line: string, level: LogLevel) => void>;
  readonly write: (line: string) => unknown;
  readonly redactor: Redactor;
  readonly clock: () => number;
}

/**
 * Creates a structured logger writing JSON lines. Redaction (sensitive keys at any depth, config
 * secret values anywhere) happens before a line is written, and writing never throws.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const log = createLogger({ write: (line) => lines.push(line), base: { service: "agent" } });
 * log.info("session created", { session_id: id });
 * ```
 */
export function createLogger(options: LoggerOptions): KernelLogger {
  const shared: Shared = {
    level: rank[options.level ?? "info"],
    format: options.format ?? "json",
    base: new Constant(options.base ?? {}),
    mixins: [],
    taps: [],
    write: options.write,
    redactor: options.redactor ?? new Redactor(),
    clock: options.clock ?? Date.now,
  };
  const root = makeLogger(shared, undefined);
  Object.defineProperty(root, "format", { get: () => shared.format, enumerable: true });
  return Object.assign(root as Logger & { readonly format: "json" | "pretty" }, {
    redactor: shared.redactor,
    use(mixin: () => LogFields | undefined) {
      shared.mixins.push(mixin);
      return () => {
        shared.mixins = shared.mixins.filter((m) => m !== mixin);
      };
    },
    tap(listener: (line: string, level: LogLevel) => void) {
      shared.taps = [...shared.taps, listener];
      return () => {
        shared.taps = shared.taps.filter((t) => t !== listener);
      };
    },
    setLevel(level: LogLevel | "silent") {
      shared.level = rank[level];
    },
    setFormat(format: "json" | "pretty") {
      shared.format = format;
    },
    setBase(fields: LogFields) {
      shared.base = new Constant({ ...fields });
    },
  });
}

function makeLogger(shared: Shared, bound: Constant | undefined, raw?: LogFields): Logger {
  const prefix = new Prefix();
  const emit = (level: LogLevel, message: string, fields: LogFields | undefined) => {
    if (rank[level] < shared.level) return;
    let line: string;
    try {
      line =
        (shared.format === "json" && fastJson(shared, level, message, prefix.get(shared, bound), fields)) ||
        render(shared, level, message, bound, fields);
      shared.write(line);
    } catch {
      // A logger that throws turns a log call into an outage; a lost line is the lesser harm.
      return;
    }
    if (shared.taps.length === 0) return;
    for (const tap of shared.taps) {
      try {
        tap(line, level);
      } catch {
        // A broken listener loses its own copy of the line, never the line.
      }
    }
  };
  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
    child: (fields) => {
      const merged = raw ? { ...raw, ...fields } : { ...fields };
      return makeLogger(shared, new Constant(merged), merged);
    },
    enabled: (level) => rank[level] >= shared.level,
  };
}

// Formatting a Date is a good part of a line's cost; lines within the same millisecond share it.
let lastMillis = Number.NaN;
let lastStamp = "";
function timestamp(millis: number): string {
  if (millis !== lastMillis) {
    lastMillis = millis;
    lastStamp = new Date(millis).toISOString();
  }
  return lastStamp;
}

/** Fields every line carries besides the call's own; they are written as they are, never overridden. */
const RESERVED = new Set(["timestamp", "level", "message"]);
/** Bound on the per-name caches: field names are few, but a caller could make them from data. */
const KEY_CACHE_LIMIT = 2048;

/**
 * The base and child fields of one logger, redacted and serialised once (the way pino keeps its
 * "chindings"), with their names, so a line only serialises the call's own fields.
 */
class Prefix {
  #base: Constant | undefined;
  #version = -1;
  fragment = "";
  keys: ReadonlySet<string> = new Set();
  /**
   * Per field name: true when a line may serialise it as it is (not sensitive, not taken). A
   * prototype-less object rather than a Map: every field of every line is looked up here, and a
   * property read by name costs less than half a Map lookup.
   */
  #plain: Record<string, boolean> = Object.create(null);
  #plainCount = 0;

  /** True when a call field of this name is neither sensitive nor a base, child or reserved field. */
  plain(key: string, redactor: Redactor): boolean {
    let verdict = this.#plain[key];
    if (verdict === undefined) {
      verdict = !redactor.sensitive(key) && !this.keys.has(key) && !RESERVED.has(key);
      if (this.#plainCount >= KEY_CACHE_LIMIT) this.#forget();
      this.#plain[key] = verdict;
      this.#plainCount++;
    }
    return verdict;
  }

  #forget(): void {
    this.#plain = Object.create(null);
    this.#plainCount = 0;
  }

  get(shared: Shared, bound: Constant | undefined): Prefix {
    if (this.#base !== shared.base || this.#version !== shared.redactor.version) {
      const merged: LogFields = { ...shared.base.get(shared.redactor), ...bound?.get(shared.redactor) };
      for (const key of RESERVED) delete merged[key];
      const body = JSON.stringify(merged);
      this.fragment = body.length > 2 ? `,${body.slice(1, -1)}` : "";
      this.keys = new Set(Object.keys(merged));
      this.#forget();
      this.#base = shared.base;
      this.#version = shared.redactor.version;
    }
    return this;
  }
}

/**
 * A JSON line built from the cached prefix and the call's fields, each field redacted and
 * serialised straight into the line (no merged object per line). A mixin field the call also
 * sets is left out, so the call's value wins. `undefined` when a field shares a name with a base,
 * child or reserved field: {@link render} then merges them so that the call's value wins, as it
 * always has.
 */
function fastJson(
  shared: Shared,
  level: LogLevel,
  message: string,
  prefix: Prefix,
  fields: LogFields | undefined,
): string | undefined {
  const { redactor } = shared;
  let tail = "";
  for (const mixin of shared.mixins) {
    let fromMixin: LogFields | undefined;
    try {
      fromMixin = mixin();
    } catch {
      // A broken mixin costs its own fields, not the line.
    }
    if (!fromMixin) continue;
    const part = serialiseFields(fromMixin, fields, prefix, redactor);
    if (part === undefined) return undefined;
    tail += part;
  }
  if (fields) {
    const part = serialiseFields(fields, undefined, prefix, redactor);
    if (part === undefined) return undefined;
    tail += part;
  }
  return `{"timestamp":"${timestamp(shared.clock())}","level":"${level}","message":${messageJson(message, redactor)}${prefix.fragment}${tail}}`;
}

// Most lines repeat a message ("request" on every access-log line): the last one's redacted JSON
// text is kept, and redone when the message or the known secrets change.
let lastMessage: string | undefined;
let lastRedactor: Redactor | undefined;
let lastRedactorVersion = -1;
let lastMessageJson = "";

/** `message`, redacted, as a JSON string literal. */
function messageJson(message: string, redactor: Redactor): string {
  if (message !== lastMessage || redactor !== lastRedactor || redactor.version !== lastRedactorVersion) {
    lastMessageJson = JSON.stringify(redactor.string(typeof message === "string" ? message : String(message)));
    lastMessage = message;
    lastRedactor = redactor;
    lastRedactorVersion = redactor.version;
  }
  return lastMessageJson;
}

/** `,"key":` for each field name seen, so a line does not re-escape the same few names. */
const keyFragments = new Map<string, string>();

function keyFragment(key: string): string {
  let fragment = keyFragments.get(key);
  if (fragment === undefined) {
    fragment = `,${JSON.stringify(key)}:`;
    if (keyFragments.size >= KEY_CACHE_LIMIT) keyFragments.clear();
    keyFragments.set(key, fragment);
  }
  return fragment;
}

/**
 * `source`'s own fields as `,"key":value` pairs, redacted, skipping those `overridden` also has;
 * `undefined` when one collides with a base, child or reserved field.
 */
function serialiseFields(
  source: LogFields,
  overridden: LogFields | undefined,
  prefix: Prefix,
  redactor: Redactor,
): string | undefined {
  if (overridden === undefined && isFlat(source, prefix, redactor)) {
    // The common line (a handful of strings and numbers under ordinary names) is serialised in
    // one native call; secret values and URL passwords are then masked in the text itself.
    const body = redactor.json(JSON.stringify(source));
    return body.length > 2 ? `,${body.slice(1, -1)}` : "";
  }
  let out = "";
  for (const key in source) {
    if (!Object.hasOwn(source, key) || (overridden !== undefined && Object.hasOwn(overridden, key))) continue;
    if (prefix.keys.has(key) || RESERVED.has(key)) return undefined;
    const value = redactor.field(key, source[key]);
    if (value === undefined) continue;
    const json = JSON.stringify(value);
    if (json !== undefined) out += keyFragment(key) + json;
  }
  return out;
}

/**
 * True for a plain object whose values are all strings, finite numbers, booleans, null or
 * undefined, under names that are neither sensitive nor taken by the base, child or reserved fields.
 */
function isFlat(source: LogFields, prefix: Prefix, redactor: Redactor): boolean {
  if (Object.getPrototypeOf(source) !== Object.prototype) return false;
  for (const key in source) {
    const value = source[key];
    switch (typeof value) {
      case "string":
      case "boolean":
      case "undefined":
        break;
      case "number":
        if (!Number.isFinite(value)) return false;
        break;
      default:
        if (value !== null) return false;
    }
    if (!prefix.plain(key, redactor)) return false;
  }
  return true;
}

/** Copies `source`'s own fields into `line`, redacted. */
function copyRedacted(line: LogFields, source: LogFields, redactor: Redactor): void {
  for (const key of Object.keys(source)) line[key] = redactor.field(key, source[key]);
}

function render(
  shared: Shared,
  level: LogLevel,
  message: string,
  bound: Constant | undefined,
  fields: LogFields | undefined,
): string {
  const { redactor } = shared;
  const stamp = timestamp(shared.clock());
  const text = redactor.string(typeof message === "string" ? message : String(message));
  // Base and child fields were redacted once; only the mixins' and the call's own fields are redacted per line.
  const line: LogFields = { timestamp: stamp, level, message: text, ...shared.base.get(redactor) };
  for (const mixin of shared.mixins) {
    try {
      const extra = mixin();
      if (extra) copyRedacted(line, extra, redactor);
    } catch {
      // A broken mixin costs its own fields, not the line.
    }
  }
  if (bound) Object.assign(line, bound.get(redactor));
  if (fields) copyRedacted(line, fields, redactor);
  // The event's own timestamp, level and message win over same-named fields; assignment keeps them first.
  line.timestamp = stamp;
  line.level = level;
  line.message = text;
  return shared.format === "pretty" ? pretty(line) : JSON.stringify(line);
}

function pretty(line: LogFields): string {
  const { timestamp, level, message, service, version, environment, ...rest } = line;
  const time = String(timestamp).slice(11, 23);
  let stack = "";
  const extra = Object.entries(rest)
    .map(([k, v]) => {
      if (typeof v === "object" && v !== null && typeof (v as { stack?: unknown }).stack === "string") {
        const { stack: trace, ...error } = v as { stack: string };
        stack += `\n${trace}`;
        return `${k}=${JSON.stringify(error)}`;
      }
      return `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`;
    })
    .join(" ");
  return `${time} ${String(level).toUpperCase().padEnd(5)} ${message}${extra ? ` ${extra}` : ""}${stack}`;
}
