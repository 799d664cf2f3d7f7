import * as v from "valibot";
import { ConfigError, type ConfigIssue } from "./errors.ts";

/** The four deployment profiles. `ENVIRONMENT` picks one; anything else is a config error. */
export type Profile = "development" | "testing" | "staging" | "production";
export const profiles: readonly Profile[] = ["development", "testing", "staging", "production"];

/** A schema for one environment variable: takes the raw string (or nothing) and yields a value. */
export type EnvSchema = v.GenericSchema<string | undefined, unknown>;

/** A plugin's config: env var name to schema. */
export type ConfigShape = Record<string, EnvSchema>;

/** The parsed config object a plugin's `start` receives. */
export type InferConfig<S extends ConfigShape> = { [K in keyof S]: v.InferOutput<S[K]> };

/** Per-profile default values (raw strings, parsed by the schema like any other source). */
export type ProfileDefaults = Partial<Record<Profile, Record<string, string>>>;

const secretSchemas = new WeakSet<object>();

/**
 * Marks a schema as secret: its value is redacted in every error, log line and printed config,
 * and registered with the logger so it is masked wherever it turns up.
 *
 * @example
 * ```ts
 * config: { SECRET_KEY: secret(env.string({ minLength: 32 })) }
 * ```
 */
export function secret<S extends EnvSchema>(schema: S): S {
  secretSchemas.add(schema);
  return schema;
}

/** True when the schema was wrapped by {@link secret}. */
export function isSecret(schema: EnvSchema): boolean {
  if (secretSchemas.has(schema)) return true;
  const wrapped = (schema as { wrapped?: EnvSchema }).wrapped;
  return wrapped !== undefined && isSecret(wrapped);
}

/**
 * Schemas for environment variables, which always arrive as strings. Each parses and checks;
 * wrap in `v.optional(schema, "default")` to give a default (defaults are strings too).
 *
 * @example
 * ```ts
 * config: { PORT: v.optional(env.port(), "8000"), LOG_LEVEL: v.optional(env.picklist(["debug", "info"]), "info") }
 * ```
 */
export const env = {
  /** Any string, optionally bounded in length. */
  string(options: { minLength?: number; maxLength?: number } = {}): v.GenericSchema<string, string> {
    const checks: v.PipeItem<string, string, v.BaseIssue<unknown>>[] = [];
    if (options.minLength !== undefined)
      checks.push(v.minLength(options.minLength, `a string of at least ${options.minLength} characters`));
    if (options.maxLength !== undefined)
      checks.push(v.maxLength(options.maxLength, `a string of at most ${options.maxLength} characters`));
    return v.pipe(v.string("a string"), ...checks);
  },
  /** A whole number, optionally bounded. */
  integer(options: { min?: number; max?: number } = {}): v.GenericSchema<string, number> {
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
    const expected = `an integer from ${min} to ${max}`;
    return v.pipe(
      v.string(expected),
      v.trim(),
      v.regex(/^[-+]?\d+$/, expected),
      v.transform(Number),
      v.minValue(min, expected),
      v.maxValue(max, expected),
    );
  },
  /** A finite decimal number, optionally bounded. */
  number(options: { min?: number; max?: number } = {}): v.GenericSchema<string, number> {
    const { min = -Number.MAX_VALUE, max = Number.MAX_VALUE } = options;
    const expected =
      options.min === undefined && options.max === undefined ? "a number" : `a number from ${min} to ${max}`;
    return v.pipe(
      v.string(expected),
      v.trim(),
      v.regex(/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i, expected),
      v.transform(Number),
      v.minValue(min, expected),
      v.maxValue(max, expected),
    );
  },
  /** `true/false`, `1/0`, `yes/no`, `on/off`, any case. */
  boolean(): v.GenericSchema<string, boolean> {
    const expected = "one of true, false, 1, 0, yes, no, on, off";
    return v.pipe(
      v.string(expected),
      v.trim(),
      v.toLowerCase(),
      v.picklist(["true", "false", "1", "0", "yes", "no", "on", "off"], expected),
      v.transform((s) => s === "true" || s === "1" || s === "yes" || s === "on"),
    );
  },
  /** A TCP port, 0 to 65535 (0 asks the OS for a free one). */
  port(): v.GenericSchema<string, number> {
    return env.integer({ min: 0, max: 65535 });
  },
  /** An absolute URL, optionally restricted to some protocols (`["postgres:", "postgresql:"]`). */
  url(options: { protocols?: readonly string[] } = {}): v.GenericSchema<string, string> {
    const expected = options.protocols ? `a URL starting ${options.protocols.join(" or ")}//` : "an absolute URL";
    return v.pipe(
      v.string(expected),
      v.trim(),
      v.check((s) => URL.canParse(s), expected),
      v.check((s) => !options.protocols || options.protocols.includes(new URL(s).protocol), expected),
    );
  },
  /** A comma-separated list; blanks are dropped. */
  list(): v.GenericSchema<string, string[]> {
    return v.pipe(
      v.string("a comma-separated list"),
      v.transform((s) =>
        s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
      ),
    );
  },
  /** One of a fixed set of strings. */
  picklist<const T extends readonly [string, ...string[]]>(options: T): v.GenericSchema<string, T[number]> {
    const expected = `one of ${options.join(", ")}`;
    return v.pipe(v.string(expected), v.trim(), v.picklist(options, expected));
  },
};

/** Where a value came from, highest precedence first. */
export type ConfigSourceName = string;

/** One layer of raw values, e.g. the process env or a `.env` file. */
export interface ConfigLayer {
  readonly name: ConfigSourceName;
  readonly values: Readonly<Record<string, string | undefined>>;
}

/** One row of the effective config, as printed by `app.describeConfig()`. Secrets are redacted. */
export interface ConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly source: ConfigSourceName;
  readonly secret: boolean;
  readonly plugins: readonly string[];
}

/** The result of resolving every plugin's config against the layers. */
export interface ResolvedConfig {
  readonly profile: Profile;
  readonly byPlugin: ReadonlyMap<string, Record<string, unknown>>;
  readonly entries: readonly ConfigEntry[];
  /** Raw values of secret settings, for the logger's value redaction. */
  readonly secretValues: readonly string[];
}

/** Marker printed in place of a secret value. */
export const REDACTED = "[redacted]";

/**
 * Resolves every plugin's schemas against the layers (first layer holding a name wins, then the
 * schema's own default) and reports every problem from every plugin in one {@link ConfigError}.
 */
export function resolveConfig(
  shapes: ReadonlyArray<{ readonly plugin: string; readonly shape: ConfigShape }>,
  layers: readonly ConfigLayer[],
  profile: Profile,
): ResolvedConfig {
  const issues: ConfigIssue[] = [];
  const byPlugin = new Map<string, Record<string, unknown>>();
  const entries = new Map<string, { value: string; source: string; secret: boolean; plugins: string[] }>();
  const secretValues = new Set<string>();

  for (const { plugin, shape } of shapes) {
    const parsed: Record<string, unknown> = {};
    for (const [name, schema] of Object.entries(shape)) {
      const layer = layers.find((l) => l.values[name] !== undefined);
      const raw = layer?.values[name];
      const source = layer?.name ?? "default";
      const hidden = isSecret(schema);
      const result = v.safeParse(schema, raw);
      if (!result.success) {
        for (const issue of result.issues) {
          issues.push({
            plugin,
            name,
            source,
            expected: describeExpected(issue),
            received: describeReceived(raw, hidden),
          });
        }
        continue;
      }
      parsed[name] = result.output;
      const shown = raw ?? (result.output === undefined ? "" : String(result.output));
      if (hidden && shown) secretValues.add(shown);
      const entry = entries.get(name);
      if (entry) {
        entry.plugins.push(plugin);
        entry.secret ||= hidden;
      } else {
        entries.set(name, {
          value: shown,
          source: raw === undefined ? "default" : source,
          secret: hidden,
          plugins: [plugin],
        });
      }
    }
    byPlugin.set(plugin, parsed);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    profile,
    byPlugin,
    entries: [...entries]
      .map(([name, e]) => ({ name, ...e, value: e.secret && e.value ? REDACTED : e.value }))
      // Env var names are ASCII: a code-unit order is right, and spares the locale collator's start-up.
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    secretValues: [...secretValues],
  };
}

function describeExpected(issue: v.BaseIssue<unknown>): string {
  // Valibot's own messages start "Invalid ..." and quote the input; ours are plain expectations.
  if (!issue.message.startsWith("Invalid ")) return issue.message;
  return issue.expected ?? "a valid value";
}

function describeReceived(raw: string | undefined, hidden: boolean): string {
  if (raw === undefined) return "nothing (not set)";
  if (hidden) return REDACTED;
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);
}

/**
 * Reads `ENVIRONMENT` from the layers and checks it names a profile.
 * Unset means `development`, so `bun run dev` works with no setup.
 */
export function resolveProfile(layers: readonly ConfigLayer[]): Profile {
  const layer = layers.find((l) => l.values.ENVIRONMENT !== undefined);
  const raw = layer?.values.ENVIRONMENT ?? "development";
  if ((profiles as readonly string[]).includes(raw)) return raw as Profile;
  throw new ConfigError([
    {
      plugin: "kernel",
      name: "ENVIRONMENT",
      expected: `one of ${profiles.join(", ")}`,
      received: JSON.stringify(raw),
      source: layer?.name ?? "default",
    },
  ]);
}

/**
 * Renders the effective config as an aligned table (name, value, source, plugins), secrets
 * already redacted: what `admin config` prints.
 *
 * @example
 * ```ts
 * const table = formatConfig(await app.inspectConfig()); // admin config prints this
 * ```
 */
export function formatConfig(entries: readonly ConfigEntry[]): string {
  const rows = [
    ["NAME", "VALUE", "SOURCE", "USED BY"],
    ...entries.map((e) => [e.name, e.value === "" ? '""' : e.value, e.source, e.plugins.join(", ")]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i < 3 ? cell.padEnd(widths[i] as number) : cell))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
