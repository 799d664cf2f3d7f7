/**
 * Process types (twelve-factor rule 8): one app definition, run as `web`, `worker`, `scheduler`
 * or the one-off `admin`, each a process of its own; each plugin says which types it runs in; a
 * plugin that does not run in this process does not start, and its config is not read.
 */
import { GraphError, kernelErrors } from "./errors.ts";
import type { Plugin } from "./plugin.ts";
import type { Token } from "./token.ts";

/** The kinds of process an app runs as. */
export type ProcessType = "web" | "worker" | "scheduler" | "admin";

/** Every process type, in the order usage lists them. */
export const processTypes: readonly ProcessType[] = ["web", "worker", "scheduler", "admin"];

/** What `dev` (and an app started with no process type) runs in one process: every long-running type. */
export const devProcessTypes: readonly ProcessType[] = ["web", "worker", "scheduler"];

/**
 * Where a plugin runs: a list of process types (it runs when this process runs any of them), or a
 * predicate over the set of types this process runs (the management server runs in a worker or a
 * scheduler, but not beside web, which already serves the probes).
 */
export type ProcessSelector = readonly ProcessType[] | ((types: ReadonlySet<ProcessType>) => boolean);

/** True when `plugin` runs in a process running `types`; a plugin that says nothing runs in all of them. */
export function runsIn(plugin: Pick<Plugin, "processes">, types: ReadonlySet<ProcessType>): boolean {
  const selector = plugin.processes;
  if (selector === undefined) return true;
  if (typeof selector === "function") return selector(types);
  return selector.some((type) => types.has(type));
}

/**
 * The same plugin, run only in other process types: for an app that wants a plugin somewhere its
 * author did not put it (metrics in web only, say).
 *
 * @example
 * ```ts
 * createApp({ name: "agent", plugins: [http(), inProcesses(["web"], rateLimit()), worker({ jobs })] });
 * ```
 */
export function inProcesses(processes: ProcessSelector, plugin: Plugin): Plugin {
  if (Array.isArray(processes)) checkTypes(processes, `plugin "${plugin.name}"`);
  return { ...plugin, processes };
}

/** Throws TF_PROCESS_UNKNOWN naming `who` when a list holds something that is not a process type. */
export function checkTypes(types: readonly string[], who: string): void {
  for (const type of types) {
    if (!(processTypes as readonly string[]).includes(type))
      throw kernelErrors.create("TF_PROCESS_UNKNOWN", { who, type });
  }
}

/** What the first command-line argument asks for. */
export type ProcessRequest =
  | { readonly kind: "run"; readonly types: ReadonlySet<ProcessType>; readonly label: string }
  | { readonly kind: "admin"; readonly argv: readonly string[] }
  | { readonly kind: "help" }
  | { readonly kind: "unknown"; readonly given: string };

/**
 * Reads the process type from the command line: `web`, `worker`, `scheduler`, a comma-separated
 * mix (`worker,scheduler`), `dev` (web, worker and scheduler in one process), nothing (the same as
 * `dev`), or `admin <command> [args]`.
 */
export function parseProcessArgs(argv: readonly string[]): ProcessRequest {
  const [first, ...rest] = argv;
  if (first === undefined || first === "dev") return { kind: "run", types: new Set(devProcessTypes), label: "dev" };
  if (first === "admin") return { kind: "admin", argv: rest };
  if (first === "help" || first === "--help" || first === "-h") return { kind: "help" };
  const types = first.split(",");
  const long = processTypes.filter((t) => t !== "admin") as readonly string[];
  if (types.length === 0 || !types.every((t) => long.includes(t))) return { kind: "unknown", given: first };
  return { kind: "run", types: new Set(types as ProcessType[]), label: first };
}

/** The usage text of an app's command line. */
export function processUsage(app: string): string {
  return [
    `usage: ${app} <process type>`,
    "",
    "  web        serve HTTP on PORT",
    "  worker     consume the queue; probes and /metrics on MANAGEMENT_PORT",
    "  scheduler  run the cron jobs; probes and /metrics on MANAGEMENT_PORT",
    "  dev        web, worker and scheduler in one process (the default)",
    "  admin      run one command and exit: admin <command> [args], admin help for the list",
  ].join("\n");
}

/** `web`, `worker and scheduler`, for messages. */
export function describeTypes(types: ReadonlySet<ProcessType>): string {
  const list = processTypes.filter((t) => types.has(t));
  return list.length <= 1 ? (list[0] ?? "no") : `${list.slice(0, -1).join(", ")} and ${list.at(-1)}`;
}

/**
 * Splits the app's plugins into those that run in this process and those that do not, and checks
 * that every plugin that runs finds its required tokens here: a provider that does not run in
 * this process is named, which a plain "no plugin provides" would hide.
 */
export function selectPlugins(
  plugins: readonly Plugin[],
  types: ReadonlySet<ProcessType>,
  external: ReadonlySet<Token<unknown>>,
): Plugin[] {
  const running = plugins.filter((p) => runsIn(p, types));
  const provided = new Set(running.flatMap((p) => p.provides));
  for (const plugin of running) {
    for (const required of plugin.requires) {
      if (provided.has(required) || external.has(required) || required.fallback) continue;
      const elsewhere = plugins.find((p) => p.provides.includes(required));
      if (elsewhere === undefined) continue; // the graph reports the missing provider
      throw new GraphError(
        "TF_GRAPH_PROVIDER_ELSEWHERE",
        kernelErrors.message("TF_GRAPH_PROVIDER_ELSEWHERE", {
          plugin: plugin.name,
          token: required.id,
          provider: elsewhere.name,
          process: describeTypes(types),
        }),
      );
    }
  }
  return running;
}
