import type { Command } from "./command.ts";
import {
  type ConfigOptions,
  type ConfigProblem,
  type ConfigShape,
  type ConfigSpec,
  type InferConfig,
  isConfigSpec,
  isSecret,
  type Profile,
  type ProfileDefaults,
  profiles,
} from "./config.ts";
import type { HealthCheckResult, Lifecycle } from "./contracts/health.ts";
import type { Logger } from "./contracts/logger.ts";
import { kernelErrors } from "./errors.ts";
import { checkTypes, type ProcessSelector, type ProcessType } from "./process-types.ts";
import type { Redactor } from "./redact.ts";
import type { Runtime } from "./runtime/types.ts";
import type { Token } from "./token.ts";

/** Reads services from the registry. */
export interface ServiceReader {
  /** The service behind `token`; an error naming the token and this plugin when nobody provides it. */
  get<T>(token: Token<T>): T;
  /** The service behind `token`, or `undefined` when nobody provides it (for `optional` tokens). */
  find<T>(token: Token<T>): T | undefined;
}

/** What a plugin's `start` receives. */
export interface PluginContext<C> extends ServiceReader {
  readonly name: string;
  /** This plugin's parsed config, keyed by env var name. */
  readonly config: C;
  readonly profile: Profile;
  /** The process types this process runs (`web`; or web, worker and scheduler under `dev`). */
  readonly processes: ReadonlySet<ProcessType>;
  /** A child of the app logger with `plugin` set. */
  readonly logger: Logger;
  /**
   * The runtime adapter the app runs on (serve, env, now): what a plugin serves or reads the
   * process through, so it never detects one of its own.
   */
  readonly runtime: Runtime;
  /**
   * The app's redactor: it masks every secret config value and sensitive key, as the logger does.
   * Use it for text that leaves the process other than through the logger (span attributes, say).
   */
  readonly redactor: Redactor;
  /** Aborts when the app begins shutting down, or when this start runs out of time. */
  readonly signal: AbortSignal;
  readonly lifecycle: Lifecycle;
  /** Registers a service this plugin declared in `provides`. */
  provide<T>(token: Token<T>, value: T): void;
  /**
   * Runs when draining begins, after DRAIN_DELAY_MS: stop taking new work (close the listener,
   * stop consumers) and resolve when the work in hand is done. `deadline` aborts at SHUTDOWN_TIMEOUT_MS.
   */
  onDrain(hook: (deadline: AbortSignal) => void | Promise<void>): void;
  /**
   * Runs once every plugin has started, just before readiness turns true (NestJS's
   * onApplicationBootstrap): the place for work that needs the whole app wired, such as compiling
   * routes other plugins added. A failure fails the start like a failing `start`.
   */
  onReady(hook: () => void | Promise<void>): void;
  /** Runs at stop, in reverse order of registration, after every dependent plugin has stopped. */
  onStop(hook: () => void | Promise<void>): void;
}

/** What a plugin's `health` receives. */
export interface HealthContext<C> extends ServiceReader {
  readonly config: C;
  /** Aborts when the check runs out of time. */
  readonly signal: AbortSignal;
}

/** The definition passed to {@link definePlugin}. */
export interface PluginDefinition<S extends ConfigShape | ConfigSpec<ConfigShape>> {
  /** Unique within an app; used in every message about this plugin. */
  readonly name: string;
  /**
   * Env var name to schema, as {@link defineConfig} declares it (stricter schemas per profile
   * included). A bare shape, or a function of the profile, is still taken.
   */
  readonly config?: S | ((profile: Profile) => S);
  /**
   * The factory's options for these settings: the top config layer, above the process env.
   * Validated by the same schemas, masked when secret, reported with every other config problem,
   * and shown with source `options` in the printed config.
   */
  readonly options?: ConfigOptions<S>;
  /**
   * Rules across several settings, run once each of them parsed: return the problems (none: `[]`),
   * and they are reported with every other config problem (exit 78), before anything starts.
   */
  check?(config: InferConfig<S>, profile: Profile): readonly ConfigProblem[];
  /** Raw default values per profile, applied below `.env` files and above schema defaults. */
  readonly defaults?: ProfileDefaults;
  /** Tokens this plugin needs; it starts after their providers. */
  readonly requires?: readonly Token<unknown>[];
  /** Tokens it uses when present; it starts after their providers if there are any. */
  readonly optional?: readonly Token<unknown>[];
  /**
   * Tokens it looks up only once the app is ready (in request handlers, say), with `find`: no
   * start-order edge, so their provider may itself need this plugin. The http plugin uses Meter
   * this way, while the metrics plugin needs HttpRoutes at start to serve `/metrics`.
   */
  readonly late?: readonly Token<unknown>[];
  /** Tokens it provides during `start`. */
  readonly provides?: readonly Token<unknown>[];
  /**
   * The process types it runs in (default: all of them). In any other process it does not start
   * and its config is not read: `["web"]` for the http server, `["worker"]` for queue consumers.
   */
  readonly processes?: ProcessSelector;
  /**
   * Admin commands it contributes (`bun run admin <name>`), whether or not it runs in admin
   * itself: a command's `get` reads what the admin process's plugins provide.
   */
  readonly commands?: readonly Command[];
  /** Time budget of `start` (default: the app's, 15 s). */
  readonly startTimeoutMs?: number;
  /** Time budget of its stop hooks (default: the app's, 10 s). */
  readonly stopTimeoutMs?: number;
  start(context: PluginContext<InferConfig<S>>): void | Promise<void>;
  health?(context: HealthContext<InferConfig<S>>): HealthCheckResult | Promise<HealthCheckResult>;
}

/** A plugin value, as `createApp` takes it. */
export interface Plugin {
  readonly name: string;
  readonly requires: readonly Token<unknown>[];
  readonly optional: readonly Token<unknown>[];
  /** See {@link PluginDefinition.late}. */
  readonly late?: readonly Token<unknown>[];
  readonly provides: readonly Token<unknown>[];
  /** See {@link PluginDefinition.processes}; `undefined` runs everywhere. */
  readonly processes?: ProcessSelector;
  /** See {@link PluginDefinition.commands}. */
  readonly commands?: readonly Command[];
  readonly defaults: ProfileDefaults;
  readonly startTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  /** See {@link PluginDefinition.options}. */
  readonly options?: Readonly<Record<string, unknown>>;
  configShape(profile: Profile): ConfigShape;
  /** See {@link PluginDefinition.check}. */
  check?(config: Record<string, unknown>, profile: Profile): readonly ConfigProblem[];
  start(context: PluginContext<Record<string, unknown>>): void | Promise<void>;
  health?(context: HealthContext<Record<string, unknown>>): HealthCheckResult | Promise<HealthCheckResult>;
}

/**
 * Defines a plugin: its config, what it needs and provides, how it starts and reports health.
 * Plugins are usually returned by a factory so options can override config.
 *
 * @example
 * ```ts
 * export const clock = () => definePlugin({
 *   name: "clock",
 *   config: { TICK_MS: v.optional(env.integer({ min: 1 }), "1000") },
 *   provides: [Clock],
 *   start({ config, provide, onStop }) {
 *     const timer = setInterval(tick, config.TICK_MS);
 *     provide(Clock, { now: () => Date.now() });
 *     onStop(() => clearInterval(timer));
 *   },
 * });
 * ```
 */
export function definePlugin<S extends ConfigShape | ConfigSpec<ConfigShape> = Record<never, never>>(
  definition: PluginDefinition<S>,
): Plugin {
  if (!definition.name || !/^[a-z0-9][a-z0-9:/_.-]*$/i.test(definition.name)) {
    throw kernelErrors.create("TF_PLUGIN_INVALID", {
      plugin: String(definition.name),
      problem: "invalid name: use letters, digits and - _ . / :",
    });
  }
  const { config, processes } = definition;
  if (Array.isArray(processes)) checkTypes(processes, `plugin "${definition.name}"`);
  const configShape = (profile: Profile): ConfigShape => {
    const given = typeof config === "function" ? config(profile) : config;
    return isConfigSpec(given) ? given.shape(profile) : ((given as ConfigShape | undefined) ?? {});
  };
  // A secret that no walk of the schema can find would print in clear: refuse the form now.
  for (const profile of profiles) {
    for (const [name, schema] of Object.entries(configShape(profile))) {
      try {
        isSecret(schema);
      } catch (error) {
        throw kernelErrors.create("TF_PLUGIN_INVALID", {
          plugin: definition.name,
          problem: `${name}: ${(error as Error).message}`,
        });
      }
    }
  }
  return {
    name: definition.name,
    requires: definition.requires ?? [],
    optional: definition.optional ?? [],
    late: definition.late ?? [],
    provides: definition.provides ?? [],
    processes,
    commands: definition.commands ?? [],
    defaults: definition.defaults ?? {},
    startTimeoutMs: definition.startTimeoutMs,
    stopTimeoutMs: definition.stopTimeoutMs,
    options: definition.options as Readonly<Record<string, unknown>> | undefined,
    configShape,
    check: definition.check as Plugin["check"],
    start: definition.start as Plugin["start"],
    health: definition.health as Plugin["health"],
  };
}
