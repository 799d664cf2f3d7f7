/**
 * Admin commands (twelve-factor rule 12): one-off tasks such as `migrate` or `seed`, run with
 * `bun run admin <command>` in a process with the same code and config as the app. Plugins
 * contribute them (`definePlugin({ commands })`), and so does the app (`createApp({ commands })`).
 */
import * as v from "valibot";
import type { ConfigShape, ConfigSpec, InferConfig } from "./config.ts";
import type { Logger } from "./contracts/logger.ts";
import { kernelErrors } from "./errors.ts";
import type { ServiceReader } from "./plugin.ts";

/** What a command's `run` receives. */
export interface CommandContext<A, C> extends ServiceReader {
  /** The command's name. */
  readonly command: string;
  /** The arguments, as the command's `args` schema parsed them. */
  readonly args: A;
  /** The command's own settings (its `config` shape), validated with the app's. */
  readonly config: C;
  /** Aborts on SIGINT or SIGTERM: stop then, and the process exits 130 or 143. */
  readonly signal: AbortSignal;
  /** Log lines go to stderr in an admin process, so stdout holds only what `print` writes. */
  readonly logger: Logger;
  /** Writes the command's output to stdout, one line per `\n`. */
  print(text: string): void;
}

/** The definition passed to {@link defineCommand}. */
export interface CommandDefinition<A, S extends ConfigShape | ConfigSpec<ConfigShape>> {
  /** What follows `admin` on the command line: lower case, digits and `-`. */
  readonly name: string;
  /** One line, shown in the list of commands. */
  readonly description: string;
  /**
   * A valibot schema for the arguments. The command line arrives as an object of strings:
   * `--dry-run` is `{ dryRun: "true" }`, `--limit=5` and `--limit 5` are `{ limit: "5" }` (an
   * option whose schema is not a flag's takes the next word), `--no-wait` is
   * `{ wait: "false" }`, and the names in `positional` take the bare words in order. The kernel's
   * `env.*` schemas parse such strings. An option the schema does not name is refused.
   */
  readonly args?: v.GenericSchema<unknown, A>;
  /** Argument names filled, in order, by the words that are not options. */
  readonly positional?: readonly string[];
  /**
   * Settings the command needs beyond the app's (env var name to schema, or a `defineConfig`
   * spec: a plugin's command reuses its plugin's), validated and reported with theirs.
   */
  readonly config?: S;
  /**
   * Whether the app's admin plugins start before `run` (default true). A command that only reads
   * config or static definitions (`config`, `jobs`) sets false: it then cannot `get` services.
   */
  readonly startsApp?: boolean;
  run(context: CommandContext<A, InferConfig<S>>): void | Promise<void>;
}

/** A command value, as `definePlugin({ commands })` and `createApp({ commands })` take it. */
export interface Command {
  readonly name: string;
  readonly description: string;
  readonly args: v.GenericSchema<unknown, unknown> | undefined;
  readonly positional: readonly string[];
  readonly config: ConfigShape | ConfigSpec<ConfigShape>;
  readonly startsApp: boolean;
  run(context: CommandContext<unknown, Record<string, unknown>>): void | Promise<void>;
}

/**
 * Defines an admin command: `bun run admin <name> [args]`. The process starts the app's plugins
 * that run in `admin` (no listener opens), validates the arguments, runs the command with a signal
 * that aborts on SIGINT or SIGTERM, stops everything and exits: 0 done, 1 failed (after cleaning
 * up), 2 unknown command or bad arguments (with the list of commands), 78 bad config, 130 or 143
 * after a signal once the command has stopped.
 *
 * @example
 * ```ts
 * import { defineCommand, env } from "@twelvefold/kernel";
 * import * as v from "valibot";
 *
 * // bun run admin migrate --status
 * export const migrate = defineCommand({
 *   name: "migrate",
 *   description: "Apply pending migrations (--status lists them instead)",
 *   args: v.object({ status: v.optional(env.boolean(), "false") }),
 *   async run({ args, get, signal, print }) {
 *     const db = get(Database);
 *     if (args.status) return print(formatStatus(await migrationStatus(db)));
 *     await applyMigrations(db, { signal });
 *   },
 * });
 *
 * // A plugin contributes it; so can the app, with createApp({ commands: [seed] }).
 * definePlugin({ name: "postgres", provides: [Database], commands: [migrate], start });
 * ```
 */
export function defineCommand<
  A = Record<string, never>,
  S extends ConfigShape | ConfigSpec<ConfigShape> = Record<never, never>,
>(definition: CommandDefinition<A, S>): Command {
  const { name, description } = definition;
  const refuse = (problem: string) => kernelErrors.create("TF_COMMAND_INVALID", { command: String(name), problem });
  if (typeof name !== "string" || !/^[a-z][a-z0-9-]*$/.test(name)) {
    throw refuse("invalid name: use lower case letters, digits and -");
  }
  if (typeof description !== "string" || description.trim() === "") {
    throw refuse("needs a description: it is shown in the list of commands");
  }
  if (typeof definition.run !== "function") throw refuse("run must be a function");
  return Object.freeze({
    name,
    description,
    args: definition.args as v.GenericSchema<unknown, unknown> | undefined,
    positional: definition.positional ?? [],
    config: (definition.config ?? {}) as Command["config"],
    startsApp: definition.startsApp ?? true,
    run: definition.run as Command["run"],
  });
}

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The names an object schema accepts, or `undefined` for a schema that is not an object's. */
function schemaKeys(schema: v.GenericSchema<unknown, unknown> | undefined): string[] | undefined {
  const entries = (schema as { entries?: Record<string, unknown> } | undefined)?.entries;
  return entries ? Object.keys(entries) : undefined;
}

/**
 * True when option `key` of the command takes a value rather than being a flag: a flag's schema
 * takes "true" and "false" and refuses other words (`env.boolean()`); any other option takes the
 * word after it (`--sub alice`), as it takes `--sub=alice`.
 */
function takesValue(command: Command, key: string): boolean {
  const entry = (command.args as { entries?: Record<string, v.GenericSchema> } | undefined)?.entries?.[key];
  if (entry === undefined) return false;
  const flag =
    v.safeParse(entry, "true").success && v.safeParse(entry, "false").success && !v.safeParse(entry, "\u0000").success;
  return !flag;
}

/**
 * Reads a command line into the command's arguments: options and positional words into an object
 * of strings, then the command's schema. Throws TF_COMMAND_USAGE saying what is wrong (the admin
 * process prints it with the usage and exits 2).
 */
export function parseCommandArgs(command: Command, argv: readonly string[]): unknown {
  const raw: Record<string, string> = {};
  const words: string[] = [];
  let options = true;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (options && token === "--") options = false;
    else if (options && token.startsWith("--") && token.length > 2) {
      const body = token.slice(2);
      const eq = body.indexOf("=");
      const next = argv[i + 1];
      if (eq >= 0) raw[camel(body.slice(0, eq))] = body.slice(eq + 1);
      else if (body.startsWith("no-")) raw[camel(body.slice(3))] = "false";
      else if (next !== undefined && !next.startsWith("--") && takesValue(command, camel(body))) {
        // `--sub alice`, as `--sub=alice`: the option is not a flag, so the next word is its value.
        raw[camel(body)] = next;
        i++;
      } else raw[camel(body)] = "true";
    } else words.push(token);
  }
  const usage = (problem: string) => kernelErrors.create("TF_COMMAND_USAGE", { command: command.name, problem });
  if (words.length > command.positional.length) {
    const extra = words.slice(command.positional.length).map((w) => `"${w}"`);
    throw usage(`unexpected argument${extra.length > 1 ? "s" : ""} ${extra.join(", ")}`);
  }
  words.forEach((word, i) => {
    raw[command.positional[i] as string] = word;
  });
  const known = schemaKeys(command.args) ?? [];
  const unknown = Object.keys(raw).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw usage(`unknown option ${unknown.map((k) => `"--${kebab(k)}"`).join(", ")}`);
  }
  if (command.args === undefined) return {};
  const result = v.safeParse(command.args, raw);
  if (result.success) return result.output;
  const problems = result.issues.map((issue) => {
    const key = issue.path?.map((p) => String(p.key)).join(".") ?? "";
    const label = command.positional.includes(key) ? `<${key}>` : key ? `--${kebab(key)}` : "arguments";
    const got = raw[key];
    return `${label}: ${issue.message}${got === undefined ? "" : `, got "${got}"`}`;
  });
  throw usage(`bad arguments: ${problems.join("; ")}`);
}

/** One line of usage: `run-job <name> [--dry-run]`. */
export function commandUsage(command: Command): string {
  const options = (schemaKeys(command.args) ?? []).filter((k) => !command.positional.includes(k));
  return [command.name, ...command.positional.map((p) => `<${p}>`), ...options.map((o) => `[--${kebab(o)}]`)].join(" ");
}

/** The list of commands with their descriptions, as `admin help` prints it. */
export function adminUsage(app: string, commands: readonly Command[]): string {
  const rows = commands.map((c) => [commandUsage(c), c.description] as const);
  const width = Math.max(0, ...rows.map(([usage]) => usage.length));
  return [
    `usage: ${app} admin <command> [args]`,
    "",
    "commands:",
    ...rows.map(([usage, description]) => `  ${usage.padEnd(width)}  ${description}`),
  ].join("\n");
}

/** The names of the kernel's own commands, which no plugin or app may reuse. */
export const builtInCommands: readonly string[] = ["config"];

/** Throws TF_COMMAND_DUPLICATE naming both sources when two commands share a name. */
export function checkCommandNames(
  sources: ReadonlyArray<{ readonly from: string; readonly names: readonly string[] }>,
): void {
  const seen = new Map<string, string>();
  for (const { from, names } of sources) {
    for (const name of names) {
      const other = seen.get(name);
      if (other !== undefined) {
        throw kernelErrors.create("TF_COMMAND_DUPLICATE", { command: name, first: other, second: from });
      }
      seen.set(name, from);
    }
  }
}
