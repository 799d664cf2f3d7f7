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
  setLevel(level: LogLevel | "silent"): void;
  setFormat(format: "json" | "pretty"): void;
  setBase(fields: LogFields): void;
}

interface Shared {
  level: number;
  format: "json" | "pretty";
  base: LogFields;
  mixins: Array<() => LogFields | undefined>;
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
 * const log = createLogger({ write: (line) => console.log(line), base: { service: "agent" } });
 * log.info("session created", { session_id: id });
 * ```
 */
export function createLogger(options: LoggerOptions): KernelLogger {
  const shared: Shared = {
    level: rank[options.level ?? "info"],
    format: options.format ?? "json",
    base: options.base ?? {},
    mixins: [],
    write: options.write,
    redactor: options.redactor ?? new Redactor(),
    clock: options.clock ?? Date.now,
  };
  const root = makeLogger(shared, undefined);
  return Object.assign(root, {
    redactor: shared.redactor,
    use(mixin: () => LogFields | undefined) {
      shared.mixins.push(mixin);
      return () => {
        shared.mixins = shared.mixins.filter((m) => m !== mixin);
      };
    },
    setLevel(level: LogLevel | "silent") {
      shared.level = rank[level];
    },
    setFormat(format: "json" | "pretty") {
      shared.format = format;
    },
    setBase(fields: LogFields) {
      shared.base = fields;
    },
  });
}

function makeLogger(shared: Shared, bound: LogFields | undefined): Logger {
  const emit = (level: LogLevel, message: string, fields: LogFields | undefined) => {
    if (rank[level] < shared.level) return;
    try {
      shared.write(render(shared, level, message, bound, fields));
    } catch {
      // A logger that throws turns a log call into an outage; a lost line is the lesser harm.
    }
  };
  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
    child: (fields) => makeLogger(shared, bound ? { ...bound, ...fields } : fields),
    enabled: (level) => rank[level] >= shared.level,
  };
}

function render(
  shared: Shared,
  level: LogLevel,
  message: string,
  bound: LogFields | undefined,
  fields: LogFields | undefined,
): string {
  const line: LogFields = {
    timestamp: new Date(shared.clock()).toISOString(),
    level,
    message,
    ...shared.base,
  };
  for (const mixin of shared.mixins) Object.assign(line, mixin());
  if (bound) Object.assign(line, bound);
  if (fields) Object.assign(line, fields);
  const safe = shared.redactor.value(line) as LogFields;
  return shared.format === "pretty" ? pretty(safe) : JSON.stringify(safe);
}

function pretty(line: LogFields): string {
  const { timestamp, level, message, service, version, environment, ...rest } = line;
  const time = String(timestamp).slice(11, 23);
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${time} ${String(level).toUpperCase().padEnd(5)} ${message}${extra ? ` ${extra}` : ""}`;
}
