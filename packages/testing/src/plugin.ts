import { expect } from "bun:test";
import { ConfigError, type Override, type Plugin, type PluginContext, type ProcessType } from "@twelvefold/kernel";
import { type ContractCase, registerSuite, type SuiteOptions } from "./case.ts";
import { testApp } from "./harness.ts";

/** Options of {@link pluginContract}. */
export interface PluginContractOptions extends SuiteOptions<Plugin> {
  /** Config under which the plugin must start (env var name to raw value). */
  readonly env?: Readonly<Record<string, string>>;
  /** The process type(s) the plugin is tried in (default: web, worker and scheduler, as `dev` runs). */
  readonly process?: ProcessType | readonly ProcessType[];
  /** Plugins that provide what this one requires. */
  readonly plugins?: readonly Plugin[];
  /** Overrides for what this one requires, instead of real providers. */
  readonly overrides?: readonly Override[];
  /**
   * Config the plugin must refuse (merged over `env`): turns on the bad-config case, which
   * expects a ConfigError naming each of these variables.
   */
  readonly badEnv?: Readonly<Record<string, string>>;
}

interface Instrumented {
  readonly plugin: Plugin;
  starts: number;
  readonly stopHooks: Array<() => void | Promise<void>>;
  readonly drainHooks: Array<(deadline: AbortSignal) => void | Promise<void>>;
}

/** Wraps a plugin to count its starts and keep its hooks, so a case can call them again. */
function instrument(plugin: Plugin): Instrumented {
  const record: Instrumented = {
    starts: 0,
    stopHooks: [],
    drainHooks: [],
    plugin: {
      ...plugin,
      start(context: PluginContext<Record<string, unknown>>) {
        record.starts++;
        return plugin.start({
          ...context,
          onStop(hook) {
            record.stopHooks.push(hook);
            context.onStop(hook);
          },
          onDrain(hook) {
            record.drainHooks.push(hook);
            context.onDrain(hook);
          },
        });
      },
    },
  };
  return record;
}

function boot(plugin: Plugin, options: PluginContractOptions, env?: Readonly<Record<string, string>>) {
  return testApp({
    name: "plugin-contract",
    plugins: [...(options.plugins ?? []), plugin],
    overrides: options.overrides,
    process: options.process,
    env: env ?? options.env,
    start: false,
  });
}

/** The plugin lifecycle contract's cases, as data (see {@link runCase}). */
export const pluginCases: readonly ContractCase<Plugin, PluginContractOptions>[] = [
  {
    name: "starts, provides every token it declares, and logs its start",
    async run(plugin, context, options) {
      const t = await boot(plugin, options);
      context.defer(() => t.stop());
      await t.start();
      expect(t.app.phase).toBe("ready");
      for (const provided of plugin.provides) expect(t.get(provided)).toBeDefined();
      expect(t.logs.some((l) => l.message === "plugin started" && l.plugin === plugin.name)).toBe(true);
    },
  },
  {
    name: "reports its health as up once started",
    async run(plugin, context, options) {
      const t = await boot(plugin, options);
      context.defer(() => t.stop());
      await t.start();
      const report = await t.app.lifecycle.health();
      if (plugin.health) expect(report.checks[plugin.name]?.status).toBe("up");
      else expect(report.checks[plugin.name]).toBeUndefined();
      expect(report.status).not.toBe("down");
    },
  },
  {
    name: "drains and stops within its budgets, without an error",
    async run(plugin, _context, options) {
      const t = await boot(plugin, options);
      await t.start();
      await t.stop();
      expect(t.app.phase).toBe("stopped");
      expect(t.logs.filter((l) => l.level === "error")).toEqual([]);
      await t.stop();
    },
  },
  {
    name: "stops idempotently: its drain and stop hooks may run again",
    async run(plugin, _context, options) {
      const probe = instrument(plugin);
      const t = await boot(probe.plugin, options);
      await t.start();
      await t.stop();
      const deadline = AbortSignal.timeout(plugin.stopTimeoutMs ?? 10_000);
      for (const hook of probe.drainHooks) await hook(deadline);
      for (const hook of [...probe.stopHooks].reverse()) await hook();
    },
  },
  {
    name: "starts again in a fresh app after a stop (no state outlives its app)",
    async run(plugin, context, options) {
      const first = await boot(plugin, options);
      await first.start();
      await first.stop();
      const second = await boot(plugin, options);
      context.defer(() => second.stop());
      await second.start();
      expect(second.app.phase).toBe("ready");
    },
  },
  {
    name: "refuses bad config with a ConfigError naming each bad variable, before starting",
    needs: "badEnv",
    async run(plugin, _context, options) {
      const probe = instrument(plugin);
      const bad = options.badEnv ?? {};
      const t = await boot(probe.plugin, options, { ...options.env, ...bad });
      const error = await t.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      await t.stop();
      expect(error).toBeInstanceOf(ConfigError);
      const issues = (error as ConfigError).issues;
      for (const name of Object.keys(bad)) {
        expect(issues.some((i) => i.name === name && i.plugin === plugin.name)).toBe(true);
        expect((error as ConfigError).message).toContain(name);
      }
      expect(probe.starts).toBe(0);
    },
  },
];

/**
 * Registers the plugin lifecycle suite: the plugin starts under `env` (with the plugins or
 * overrides it needs), reports health, stops cleanly and idempotently, restarts in a fresh app,
 * and, given `badEnv`, refuses bad config with a clear error.
 *
 * @example
 * ```ts
 * import { pluginContract } from "@twelvefold/testing";
 * pluginContract(http(), { env: { PORT: "0" }, badEnv: { PORT: "eighty" } });
 * ```
 */
export function pluginContract(plugin: Plugin | (() => Plugin), options: PluginContractOptions = {}): void {
  const make = typeof plugin === "function" ? plugin : () => plugin;
  const capabilities = new Set(options.badEnv ? ["badEnv"] : []);
  registerSuite("plugin", make().name, pluginCases, make, { ...options, capabilities });
}
