import { GraphError, kernelErrors } from "./errors.ts";
import type { Plugin } from "./plugin.ts";
import type { Token } from "./token.ts";

/** The dependency graph of an app's plugins. */
export interface PluginGraph {
  /** Plugins each plugin waits for, by name. */
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
  /** Which plugin provides each token. */
  readonly providers: ReadonlyMap<Token<unknown>, string>;
  /** Tokens required but provided by nobody, to be built from their fallback. */
  readonly fallbacks: readonly Token<unknown>[];
  /** A topological order, for messages and for deterministic tie-breaking. */
  readonly order: readonly string[];
}

/**
 * Checks the plugins against each other and orders them: duplicate names, duplicate providers,
 * missing providers and cycles are errors naming the plugins and tokens involved.
 */
export function buildGraph(plugins: readonly Plugin[], external: ReadonlySet<Token<unknown>>): PluginGraph {
  const byName = new Map<string, Plugin>();
  for (const plugin of plugins) {
    if (byName.has(plugin.name)) {
      throw new GraphError("TF_PLUGIN_DUPLICATE", kernelErrors.message("TF_PLUGIN_DUPLICATE", { plugin: plugin.name }));
    }
    byName.set(plugin.name, plugin);
  }

  const providers = new Map<Token<unknown>, string>();
  for (const plugin of plugins) {
    for (const provided of plugin.provides) {
      const other = providers.get(provided);
      if (other !== undefined && !external.has(provided)) {
        throw new GraphError(
          "TF_GRAPH_DUPLICATE_PROVIDER",
          kernelErrors.message("TF_GRAPH_DUPLICATE_PROVIDER", {
            token: provided.id,
            first: other,
            second: plugin.name,
          }),
        );
      }
      providers.set(provided, plugin.name);
    }
  }

  const fallbacks = new Set<Token<unknown>>();
  const dependencies = new Map<string, string[]>();
  for (const plugin of plugins) {
    const deps = new Set<string>();
    for (const required of plugin.requires) {
      if (external.has(required)) continue;
      const provider = providers.get(required);
      if (provider !== undefined) deps.add(provider);
      else if (required.fallback) fallbacks.add(required);
      else {
        throw new GraphError(
          "TF_GRAPH_MISSING_PROVIDER",
          kernelErrors.message("TF_GRAPH_MISSING_PROVIDER", { plugin: plugin.name, token: required.id }),
        );
      }
    }
    for (const wanted of plugin.optional) {
      const provider = external.has(wanted) ? undefined : providers.get(wanted);
      if (provider !== undefined) deps.add(provider);
    }
    deps.delete(plugin.name);
    dependencies.set(plugin.name, [...deps]);
  }

  return {
    dependencies,
    providers,
    fallbacks: [...fallbacks],
    order: topologicalOrder(plugins, dependencies, providers),
  };
}

function topologicalOrder(
  plugins: readonly Plugin[],
  dependencies: ReadonlyMap<string, readonly string[]>,
  providers: ReadonlyMap<Token<unknown>, string>,
): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (name: string) => {
    const seen = state.get(name);
    if (seen === "done") return;
    if (seen === "visiting") {
      const cycle = [...path.slice(path.indexOf(name)), name];
      const chain = describeCycle(cycle, plugins, providers);
      throw new GraphError("TF_GRAPH_CYCLE", kernelErrors.message("TF_GRAPH_CYCLE", { chain }));
    }
    state.set(name, "visiting");
    path.push(name);
    for (const dep of dependencies.get(name) ?? []) visit(dep);
    path.pop();
    state.set(name, "done");
    order.push(name);
  };
  for (const plugin of plugins) visit(plugin.name);
  return order;
}

function describeCycle(cycle: string[], plugins: readonly Plugin[], providers: ReadonlyMap<Token<unknown>, string>) {
  const steps: string[] = [];
  for (let i = 0; i < cycle.length - 1; i++) {
    const from = plugins.find((p) => p.name === cycle[i]);
    const to = cycle[i + 1];
    const via = [...(from?.requires ?? []), ...(from?.optional ?? [])].find((t) => providers.get(t) === to);
    steps.push(`"${cycle[i]}" needs "${via?.id}" from "${to}"`);
  }
  return `${cycle.map((n) => `"${n}"`).join(" -> ")} (${steps.join("; ")})`;
}
