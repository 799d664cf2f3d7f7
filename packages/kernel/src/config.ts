import * as v from "valibot";
import { type ConfigIssue, quote } from "./errors.ts";

/** The four deployment profiles. `ENVIRONMENT` picks one; anything else is a config error. */
export type Profile = "development" | "testing" | "staging" | "production";
export const profiles: readonly Profile[] = ["development", "testing", "staging", "production"];

/** A schema for one environment variable: takes the raw string (or nothing) and yields a value. */
export type EnvSchema = v.GenericSchema<string | undefined, unknown>;

/** A plugin's config: env var name to schema. */
export type ConfigShape = Record<string, EnvSchema>;

/**
 * A plugin's config as {@link defineConfig} declares it: the schemas every profile uses, and the
 * stricter ones some profiles put in their place.
 */
export interface ConfigSpec<S extends ConfigShape> {
  /** The schemas under `profile`. */
  shape(profile: Profile): ConfigShape;
  /** Phantom field for {@link InferConfig}; never set at run time. */
  readonly __shape?: S;
}

/**
 * The parsed config object a plugin's `start` receives, from its shape or its {@link ConfigSpec}:
 * `type HttpConfig = InferConfig<typeof httpConfig>`.
 */
export type InferConfig<S extends ConfigShape | ConfigSpec<ConfigShape>> =
  S extends ConfigSpec<infer T>
    ? { [K in keyof T]: v.InferOutput<T[K]> }
    : S extends ConfigShape
      ? { [K in keyof S]: v.InferOutput<S[K]> }
      : never;

/**
 * Values passed to a plugin factory for its settings (the top config layer): each the parsed type
 * (`PORT: 0`) or the raw text an env var would hold (`PORT: "0"`). Validated by the same schemas.
 */
export type ConfigOptions<S extends ConfigShape | ConfigSpec<ConfigShape>> = {
  readonly [K in keyof InferConfig<S>]?: InferConfig<S>[K] | string;
};

/** A schema for one profile that may replace the base one: the same output type, or a narrower one. */
type ProfileSchemas<S extends ConfigShape> = {
  readonly [K in keyof S]?: v.GenericSchema<string | undefined, v.InferOutput<S[K]>>;
};

/**
 * Declares a plugin's config: env var name to schema, plus stricter schemas for some profiles
 * (production's longer secrets). The one way to declare config; derive its type with
 * {@link InferConfig}.
 *
 * @example
 * ```ts
 * import { defineConfig, env, type InferConfig, secret } from "@twelvefold/kernel";
 * import * as v from "valibot";
 *
 * export const clockConfig = defineConfig(
 *   {
 *     TICK_MS: v.optional(env.integer({ min: 1 }), "1000"),
 *     CLOCK_TOKEN: secret(v.optional(env.string({ minLength: 1 }))),
 *   },
 *   { production: { CLOCK_TOKEN: secret(env.string({ minLength: 32 })) } },
 * );
 * export type ClockConfig = InferConfig<typeof clockConfig>;
 * ```
 */
export function defineConfig<const S extends ConfigShape>(
  shape: S,
  profiles: Partial<Record<Profile, ProfileSchemas<S>>> = {},
): ConfigSpec<S> {
  const byProfile = new Map<Profile, ConfigShape>();
  return {
    shape(profile) {
      let resolved = byProfile.get(profile);
      if (!resolved) {
        resolved = { ...shape, ...(profiles[profile] as ConfigShape | undefined) };
        byProfile.set(profile, resolved);
      }
      return resolved;
    },
  };
}

/** True for a {@link ConfigSpec} (rather than a bare shape). */
export function isConfigSpec(value: unknown): value is ConfigSpec<ConfigShape> {
  return typeof value === "object" && value !== null && typeof (value as { shape?: unknown }).shape === "function";
}

/** Per-profile default values (raw strings, parsed by the schema like any other source). */
export type ProfileDefaults = Partial<Record<Profile, Record<string, string>>>;

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
  verdicts.set(schema, true);
  return schema;
}

/** Whether a schema holds a secret, by schema object: {@link secret} and {@link plain} say so, the walk finds out. */
const verdicts = new WeakMap<object, boolean>();

/**
 * A schema `env` built, holding no schema of the caller's: nothing in it is secret until
 * {@link secret} marks it, so a walk stops here instead of reading every node of its pipe (most of
 * what defining a plugin costs at start, where the walk's code still runs cold).
 */
function plain<S extends object>(schema: S): S {
  verdicts.set(schema, false);
  return schema;
}

/**
 * True when {@link secret} marks the schema or any schema inside it (`v.pipe(secret(...), ...)`,
 * `v.optional(secret(...))`, a union member). Throws a TypeError for a form it cannot see into
 * (`v.lazy`) that is not marked secret as a whole: a secret in there could not be masked.
 */
export function isSecret(schema: EnvSchema): boolean {
  return secretInside(schema, []);
}

/** The Standard Schema property of valibot's schemas (a getter). */
const STANDARD_KEY = "~standard";

function secretInside(schema: object, path: string[]): boolean {
  const known = verdicts.get(schema);
  if (known !== undefined) return known;
  let found = false;
  const node = schema as { type?: string; kind?: string };
  if (node.type === "lazy") {
    throw new TypeError(
      `cannot see inside v.lazy(...)${path.length ? ` (in ${path.join(" > ")})` : ""}: a secret there would not be masked: wrap the whole setting in secret(...) or drop the lazy`,
    );
  }
  for (const key of Object.keys(schema)) {
    // Valibot's `~standard` is a getter that builds a new object at every read, and never holds a
    // schema: reading it for every node was most of the walk's cost at each start.
    if (key === STANDARD_KEY) continue;
    const value = (schema as Record<string, unknown>)[key];
    if (typeof value !== "object" || value === null) continue;
    const items: readonly unknown[] = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (isSchemaNode(item) && secretInside(item, [...path, `${node.type ?? "schema"}.${key}`])) found = true;
    }
  }
  verdicts.set(schema, found);
  return found;
}

function isSchemaNode(value: unknown): value is object {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { kind?: unknown }).kind === "schema" &&
    typeof (value as { "~run"?: unknown })["~run"] === "function"
  );
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
    // One expectation for every check, so a missing value says what it needs, not just "a string".
    const expected = `a string${bounds(options.minLength, options.maxLength, " characters")}`;
    const checks: v.PipeItem<string, string, v.BaseIssue<unknown>>[] = [];
    if (options.minLength !== undefined) checks.push(v.minLength(options.minLength, expected));
    if (options.maxLength !== undefined) checks.push(v.maxLength(options.maxLength, expected));
    return plain(v.pipe(v.string(expected), ...checks));
  },
  /** A whole number, optionally bounded. */
  integer(options: { min?: number; max?: number } = {}): v.GenericSchema<string, number> {
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
    const expected = `an integer${bounds(options.min, options.max)}`;
    return plain(
      v.pipe(
        v.string(expected),
        v.trim(),
        v.regex(/^[-+]?\d+$/, expected),
        v.transform(Number),
        v.minValue(min, expected),
        v.maxValue(max, expected),
      ),
    );
  },
  /** A finite decimal number, optionally bounded. */
  number(options: { min?: number; max?: number } = {}): v.GenericSchema<string, number> {
    const { min = -Number.MAX_VALUE, max = Number.MAX_VALUE } = options;
    const expected = `a number${bounds(options.min, options.max)}`;
    return plain(
      v.pipe(
        v.string(expected),
        v.trim(),
        v.regex(/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i, expected),
        v.transform(Number),
        v.minValue(min, expected),
        v.maxValue(max, expected),
      ),
    );
  },
  /** `true/false`, `1/0`, `yes/no`, `on/off`, any case. */
  boolean(): v.GenericSchema<string, boolean> {
    const expected = "one of true, false, 1, 0, yes, no, on, off";
    return plain(
      v.pipe(
        v.string(expected),
        v.trim(),
        v.toLowerCase(),
        v.picklist(["true", "false", "1", "0", "yes", "no", "on", "off"], expected),
        v.transform((s) => s === "true" || s === "1" || s === "yes" || s === "on"),
      ),
    );
  },
  /** A TCP port, 0 to 65535 (0 asks the OS for a free one). */
  port(): v.GenericSchema<string, number> {
    return env.integer({ min: 0, max: 65535 });
  },
  /** An absolute URL, optionally restricted to some protocols (`["postgres:", "postgresql:"]`). */
  url(options: { protocols?: readonly string[] } = {}): v.GenericSchema<string, string> {
    const expected = options.protocols ? `a URL starting ${options.protocols.join(" or ")}//` : "an absolute URL";
    return plain(
      v.pipe(
        v.string(expected),
        v.trim(),
        // One check: valibot runs every check of a pipe, so a second one would parse what the first refused.
        v.check(
          (s) => URL.canParse(s) && (!options.protocols || options.protocols.includes(new URL(s).protocol)),
          expected,
        ),
      ),
    );
  },
  /** A comma-separated list; blanks are dropped. */
  list(): v.GenericSchema<string, string[]> {
    return plain(
      v.pipe(
        v.string("a comma-separated list"),
        v.transform((s) =>
          s
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean),
        ),
      ),
    );
  },
  /** One of a fixed set of strings. */
  picklist<const T extends readonly [string, ...string[]]>(options: T): v.GenericSchema<string, T[number]> {
    const expected = `one of ${options.join(", ")}`;
    return plain(v.pipe(v.string(expected), v.trim(), v.picklist(options, expected)));
  },
};

/** The bounds as a person says them: " from 0 to 9", " of at least 1", " of at most 9", or nothing. */
function bounds(min: number | undefined, max: number | undefined, unit = ""): string {
  if (min !== undefined && max !== undefined) return unit ? ` of ${min} to ${max}${unit}` : ` from ${min} to ${max}`;
  if (min !== undefined) return ` of at least ${min}${unit}`;
  if (max !== undefined) return ` of at most ${max}${unit}`;
  return "";
}

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
  /** Each plugin's parsed settings (only those that parsed, when there are issues). */
  readonly byPlugin: ReadonlyMap<string, Record<string, unknown>>;
  readonly entries: readonly ConfigEntry[];
  /** Raw values of secret settings, for the logger's value redaction. */
  readonly secretValues: readonly string[];
  /** Every problem of every plugin; the caller throws them together in one ConfigError. */
  readonly issues: readonly ConfigIssue[];
}

/**
 * A problem a plugin's `check(config)` finds across its settings (CORS `*` with credentials):
 * the setting to blame, and what would be right. `received` defaults to the setting's value,
 * redacted when secret.
 */
export interface ConfigProblem {
  readonly name: string;
  readonly expected: string;
  readonly received?: string;
}

/** One plugin's part of {@link resolveConfig}. */
export interface PluginConfigInput {
  readonly plugin: string;
  readonly shape: ConfigShape;
  /** The factory's options: the top layer, for this plugin's settings only. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Rules across several settings, run once every setting of the plugin parsed. */
  readonly check?: (config: Record<string, unknown>, profile: Profile) => readonly ConfigProblem[];
}

/** Marker printed in place of a secret value. */
export const REDACTED = "[redacted]";

/** The source of a setting no layer holds and no default fills. */
export const NOT_SET = "not set";

/** The layer name of a plugin factory's options. */
export const OPTIONS_LAYER = "options";

/**
 * Resolves every plugin's schemas against its options and the layers (the first holding a name
 * wins, then the schema's own default), runs each plugin's `check`, and returns every problem of
 * every plugin together.
 */
export function resolveConfig(
  inputs: readonly PluginConfigInput[],
  layers: readonly ConfigLayer[],
  profile: Profile,
): ResolvedConfig {
  const issues: ConfigIssue[] = [];
  const byPlugin = new Map<string, Record<string, unknown>>();
  const entries = new Map<string, { value: string; source: string; secret: boolean; plugins: string[] }>();
  const secretValues = new Set<string>();

  for (const { plugin, shape, options, check } of inputs) {
    const parsed: Record<string, unknown> = {};
    const own = options ? [{ name: OPTIONS_LAYER, values: rawOptions(options) }, ...layers] : layers;
    const seen = new Map<string, { raw: string | undefined; source: string; hidden: boolean }>();
    const before = issues.length;
    for (const name of Object.keys(options ?? {})) {
      if (!(name in shape) && options?.[name] !== undefined) {
        issues.push({
          plugin,
          name,
          expected: `one of the settings ${quote(plugin)} declares`,
          received: `an option of that name`,
          source: OPTIONS_LAYER,
        });
      }
    }
    for (const [name, schema] of Object.entries(shape)) {
      const layer = own.find((l) => l.values[name] !== undefined);
      const raw = layer?.values[name];
      const source = layer?.name ?? NOT_SET;
      const hidden = isSecret(schema);
      seen.set(name, { raw, source, hidden });
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
    if (check && issues.length === before) {
      for (const problem of check(parsed, profile)) {
        const at = seen.get(problem.name);
        issues.push({
          plugin,
          name: problem.name,
          expected: problem.expected,
          received: problem.received ?? describeReceived(at?.raw, at?.hidden ?? false),
          source: at === undefined || at.raw === undefined ? "default" : at.source,
        });
      }
    }
  }
  return {
    profile,
    byPlugin,
    entries: [...entries]
      .map(([name, e]) => ({ name, ...e, value: e.secret && e.value ? REDACTED : e.value }))
      // Env var names are ASCII: a code-unit order is right, and spares the locale collator's start-up.
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    secretValues: [...secretValues],
    issues,
  };
}

/** Options as the raw text an env var would hold: lists comma-joined, the rest as strings. */
function rawOptions(options: Readonly<Record<string, unknown>>): Record<string, string | undefined> {
  const raw: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    raw[name] = Array.isArray(value) ? value.map(String).join(",") : String(value);
  }
  return raw;
}

function describeExpected(issue: v.BaseIssue<unknown>): string {
  // Valibot's own messages start "Invalid ..." and quote the input; ours are plain expectations.
  if (!issue.message.startsWith("Invalid ")) return issue.message;
  return issue.expected ?? "a valid value";
}

function describeReceived(raw: string | undefined, hidden: boolean): string {
  if (raw === undefined) return "nothing";
  if (hidden) return REDACTED;
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);
}

/**
 * Reads `ENVIRONMENT` from the layers. Unset means `development`, so `bun run dev` works with no
 * setup; a value that names no profile also reads as `development` here, and the kernel's
 * ENVIRONMENT schema reports it with every other problem.
 */
export function resolveProfile(layers: readonly ConfigLayer[]): Profile {
  const raw = layers.find((l) => l.values.ENVIRONMENT !== undefined)?.values.ENVIRONMENT?.trim();
  return raw !== undefined && (profiles as readonly string[]).includes(raw) ? (raw as Profile) : "development";
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
