import type { AdminHost } from "./admin.ts";
import { type KernelConfig, kernelShape, loadConfigLayers } from "./app-config.ts";
import { builtInCommands, type Command, checkCommandNames } from "./command.ts";
import {
  type ConfigEntry,
  type ConfigLayer,
  isConfigSpec,
  type Profile,
  type ResolvedConfig,
  resolveConfig,
} from "./config.ts";
import { AppInfo, type HealthReport, Lifecycle, type Phase } from "./contracts/health.ts";
import { LogContext, Logger } from "./contracts/logger.ts";
import { ConfigError, ExitCode, kernelErrors } from "./errors.ts";
import { buildGraph } from "./graph.ts";
import { runHealthChecks } from "./health-checks.ts";
import { PluginLifecycle, round } from "./lifecycle.ts";
import { createLogger, type KernelLogger } from "./logger.ts";
import type { Plugin } from "./plugin.ts";
import {
  checkTypes,
  devProcessTypes,
  type ProcessType,
  parseProcessArgs,
  processUsage,
  runsIn,
  selectPlugins,
} from "./process-types.ts";
import { type ContextBase, Registry } from "./registry.ts";
import { COPY_ENV, runApp } from "./run.ts";
import { detectRuntime } from "./runtime/detect.ts";
import type { Runtime } from "./runtime/types.ts";
import { AppState, worstStatus } from "./state.ts";
import type { Override, Token } from "./token.ts";

/** Options for {@link createApp}. */
export interface AppOptions {
  /** The app's name; APP_NAME overrides it. */
  readonly name: string;
  /** The app's version; APP_VERSION overrides it. */
  readonly version?: string;
  readonly plugins: readonly Plugin[];
  /**
   * The process type(s) `start()` runs (default: web, worker and scheduler, as `dev` does).
   * `run()` reads it from the command line instead: `web`, `worker`, `scheduler`, `dev`, `admin`.
   */
  readonly process?: ProcessType | readonly ProcessType[];
  /** The app's own admin commands (`seed`, `token`), beside the plugins' and the built-in `config`. */
  readonly commands?: readonly Command[];
  /** Values that replace what plugins provide (tests, hand wiring). */
  readonly overrides?: readonly Override[];
  /** Replaces the process environment (tests). `.env` files are then read only if `envDir` is set. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Folder holding the `.env` files (default: the working directory). */
  readonly envDir?: string;
  /** The runtime adapter (default: detected). */
  readonly runtime?: Runtime;
  /** Replaces stdout as the destination of log lines (tests). */
  readonly log?: (line: string) => void;
  /** Default start budget per plugin (15 000 ms). */
  readonly startTimeoutMs?: number;
  /** Default stop budget per plugin (10 000 ms). */
  readonly stopTimeoutMs?: number;
  /** Budget of each health check (2 000 ms). */
  readonly healthTimeoutMs?: number;
}

/** A built application. */
export interface App {
  readonly name: string;
  readonly phase: Phase;
  readonly lifecycle: Lifecycle;
  readonly logger: Logger;
  /** The process types this app runs as (set from the command line by `run()`). */
  readonly processes: ReadonlySet<ProcessType>;
  /** A service from the registry, once started (for tests and scripts). */
  get<T>(token: Token<T>): T;
  /** Loads config, checks the graph, starts every plugin; rolls back and rejects on any failure. */
  start(): Promise<void>;
  /** Drains and stops; rejects with an AggregateError listing every problem. Idempotent. */
  stop(): Promise<void>;
  /**
   * Runs the process the command line asks for and exits. `web`, `worker`, `scheduler`, a mix
   * (`worker,scheduler`) or `dev` (the default: web, worker and scheduler): start, wait for
   * SIGTERM/SIGINT, drain, stop, exit 0, 1, or 78 for config. `admin <command> [args]`: run one
   * command and exit (see `defineCommand`). Anything else: the usage, exit 2.
   */
  run(options?: RunOptions): Promise<never>;
  /**
   * The effective config with the source of each value, secrets redacted, without starting: of
   * this app's process types, or of `options.process`.
   */
  inspectConfig(options?: { readonly process?: ProcessType | readonly ProcessType[] }): Promise<ConfigEntry[]>;
  /** `await using app = createApp(...)` stops the app when the scope ends. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@link App.run}. */
export interface RunOptions {
  /** The command line (default: the process's arguments after the script). */
  readonly argv?: readonly string[];
}

/**
 * Builds an application from plugins. Nothing runs until `start()` or `run()`. One definition
 * serves every process type: each plugin says where it runs, and `run()` reads the type from
 * the command line, so `bun main.ts web`, `bun main.ts worker` and `bun main.ts admin migrate`
 * are the same app with the same config.
 *
 * @example
 * ```ts
 * const app = createApp({
 *   name: "agent",
 *   plugins: [http(), metrics(), chatRoutes(), worker({ jobs: [summarise] }), scheduler({ jobs: [purge] })],
 *   commands: [seed],
 * });
 * await app.run(); // bun main.ts web | worker | scheduler | dev | admin <command>
 * ```
 */
export function createApp(options: AppOptions): App {
  return new Application(options);
}

/**
 * The app and its top-level flow: config, graph, start, ready; drain, stop. The lifecycle engine
 * (lifecycle.ts) runs the plugins' hooks, the registry (registry.ts) holds the services and makes
 * each plugin's context, and the state (state.ts) is the phase and readiness plugins read.
 */
class Application implements App {
  readonly #options: AppOptions;
  readonly #runtime: Runtime;
  readonly #logger: KernelLogger;
  readonly #state: AppState;
  readonly #registry: Registry;
  readonly #plugins: PluginLifecycle;
  #types: ReadonlySet<ProcessType>;
  /** This process's index among the copies of WORKERS, when it is one. */
  #copy: string | undefined;
  /** The config layers `run()` read to find WORKERS, for the start to use instead of reading them again. */
  #loaded: { layers: ConfigLayer[]; profile: Profile } | undefined;
  #write: (line: string) => unknown;
  /** A command's settings, validated with the plugins' when an admin process starts. */
  #extra: { readonly name: string; readonly shape: Command["config"] } | undefined;
  #resolved: ResolvedConfig | undefined;
  #kernelConfig: KernelConfig | undefined;
  #base: ContextBase | undefined;
  #profile: Profile = "development";
  #startedAt = Date.now();
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;

  constructor(options: AppOptions) {
    this.#options = options;
    this.#runtime = options.runtime ?? detectRuntime();
    const runtime = this.#runtime;
    this.#types = toTypes(options.process);
    const names = (commands: readonly Command[] = []) => commands.map((c) => c.name);
    checkCommandNames([
      { from: "the kernel", names: builtInCommands },
      ...options.plugins.map((p) => ({ from: `plugin "${p.name}"`, names: names(p.commands) })),
      { from: "the app", names: names(options.commands) },
    ]);
    this.#write = options.log ?? ((line) => runtime.writeLine(line));
    this.#logger = createLogger({ write: (line) => this.#write(line) });
    this.#state = new AppState(() => this.#health());
    this.#registry = new Registry(options.overrides ?? [], [
      { token: Logger, value: this.#logger },
      { token: LogContext, value: this.#logger },
      { token: Lifecycle, value: this.#state },
    ]);
    this.#plugins = new PluginLifecycle({
      registry: this.#registry,
      state: this.#state,
      logger: this.#logger,
      now: () => runtime.now(),
      startTimeoutMs: options.startTimeoutMs ?? 15_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
    });
  }

  get name(): string {
    return this.#kernelConfig?.APP_NAME ?? this.#options.name;
  }

  get phase(): Phase {
    return this.#state.phase;
  }

  get lifecycle(): Lifecycle {
    return this.#state;
  }

  get logger(): Logger {
    return this.#logger;
  }

  get processes(): ReadonlySet<ProcessType> {
    return this.#types;
  }

  get<T>(token: Token<T>): T {
    return this.#registry.get(token, this.name);
  }

  async inspectConfig(
    options: { readonly process?: ProcessType | readonly ProcessType[] } = {},
  ): Promise<ConfigEntry[]> {
    const types = options.process === undefined ? this.#types : toTypes(options.process);
    const plugins = this.#options.plugins.filter((p) => runsIn(p, types));
    const { layers, profile } = await this.#layers(plugins);
    return [...this.#resolveOrThrow(layers, profile, plugins).entries];
  }

  start(): Promise<void> {
    this.#startPromise ??= this.#start();
    return this.#startPromise;
  }

  stop(): Promise<void> {
    this.#stopPromise ??= this.#stop();
    return this.#stopPromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  run(options: RunOptions = {}): Promise<never> {
    const runtime = this.#runtime;
    const request = parseProcessArgs(options.argv ?? runtime.args?.() ?? []);
    switch (request.kind) {
      case "run":
        this.#types = request.types;
        return this.#runLongLived();
      case "admin":
        this.#types = new Set<ProcessType>(["admin"]);
        // Loaded here: a long-running process never parses the admin runner.
        return import("./admin.ts").then(({ runAdmin }) => runAdmin(this.#adminHost(), request.argv, runtime));
      case "help":
        for (const line of processUsage(this.#options.name).split("\n")) runtime.writeLine(line);
        return runtime.exit(ExitCode.ok);
      case "unknown": {
        const text = `${this.#options.name}: unknown process type "${request.given}"\n\n${processUsage(this.#options.name)}`;
        for (const line of text.split("\n")) (runtime.writeErrorLine ?? runtime.writeLine)(line);
        return runtime.exit(ExitCode.usage);
      }
    }
  }

  /**
   * A long-running process: the app itself, or, for `web` with WORKERS above 1, the supervisor of
   * that many copies of it (each of which lands here again, as a copy).
   */
  async #runLongLived(): Promise<never> {
    const runtime = this.#runtime;
    this.#copy = runtime.env()[COPY_ENV];
    if (this.#copy !== undefined) {
      return runApp(this, runtime, this.#logger, { copy: { onParentGone: runtime.copies?.onParentGone } });
    }
    const workers = this.#types.size === 1 && this.#types.has("web") ? await this.#workers() : 1;
    if (workers <= 1) return runApp(this, runtime, this.#logger);
    if (!runtime.copies) {
      this.#logger.error(kernelErrors.message("TF_APP_NO_COPIES", { runtime: runtime.name, workers }), {
        code: "TF_APP_NO_COPIES",
      });
      return runtime.exit(ExitCode.config);
    }
    // Loaded here: a single process (and every copy) never parses the supervisor.
    const { superviseCopies } = await import("./supervisor.ts");
    return superviseCopies({ count: workers, copies: runtime.copies, runtime, logger: this.#logger });
  }

  /**
   * WORKERS, read with every setting of this process's plugins; 1 when any of them is invalid or
   * the graph is wrong, so that the app's own start reports every problem once, not once a copy.
   */
  async #workers(): Promise<number> {
    try {
      const plugins = selectPlugins(this.#options.plugins, this.#types, this.#registry.external());
      const loaded = await this.#layers(plugins);
      // The start that follows reads these same layers rather than the files again.
      this.#loaded = loaded;
      const raw = loaded.layers.find((layer) => layer.values.WORKERS !== undefined)?.values.WORKERS;
      if (raw === undefined || raw.trim() === "1") return 1;
      const resolved = this.#resolve(loaded.layers, loaded.profile, plugins);
      if (resolved.issues.length > 0) return 1;
      this.#configure(resolved);
      return (resolved.byPlugin.get("kernel") as unknown as KernelConfig).WORKERS;
    } catch {
      return 1;
    }
  }

  /** The app as the admin runner drives it. */
  #adminHost(): AdminHost {
    const extraName = (command: Command) => `command ${command.name}`;
    const state = this.#state;
    return {
      name: this.#options.name,
      logger: this.#logger,
      get: <T>(token: Token<T>) => this.get(token),
      find: <T>(token: Token<T>) => this.#registry.find(token),
      get phase() {
        return state.phase;
      },
      commands: [...this.#options.plugins.flatMap((p) => p.commands ?? []), ...(this.#options.commands ?? [])],
      startFor: async (command) => {
        this.#extra = { name: extraName(command), shape: command.config };
        await this.start();
        return this.#resolved?.byPlugin.get(extraName(command)) ?? {};
      },
      configFor: async (command) => {
        this.#extra = { name: extraName(command), shape: command.config };
        // Nothing starts, but the profile defaults of the admin process's plugins apply, as they would if it did.
        const { layers, profile } = await this.#layers(this.#options.plugins.filter((p) => runsIn(p, this.#types)));
        const resolved = this.#resolveOrThrow(layers, profile, []);
        this.#configure(resolved);
        return resolved.byPlugin.get(extraName(command)) ?? {};
      },
      stop: () => this.stop(),
      inspectConfig: (options) => this.inspectConfig(options),
      logToStderr: () => {
        const runtime = this.#runtime;
        if (!this.#options.log && runtime.writeErrorLine) this.#write = (line) => runtime.writeErrorLine?.(line);
      },
    };
  }

  /** True once a stop arrived while starting: the start's failure is then not an error. */
  get shutdownRequested(): boolean {
    return this.#plugins.interrupted;
  }

  #layers(plugins: readonly Plugin[]): Promise<{ layers: ConfigLayer[]; profile: Profile }> {
    return loadConfigLayers(this.#runtime, { ...this.#options, plugins });
  }

  /** The config, throwing every config problem together. */
  #resolveOrThrow(layers: ConfigLayer[], profile: Profile, plugins: readonly Plugin[]): ResolvedConfig {
    const resolved = this.#resolve(layers, profile, plugins);
    if (resolved.issues.length > 0) throw new ConfigError(resolved.issues);
    return resolved;
  }

  /** Resolves the kernel's settings, those of `plugins` (the ones this process runs) and a command's. */
  #resolve(layers: ConfigLayer[], profile: Profile, plugins: readonly Plugin[]): ResolvedConfig {
    const extra = this.#extra;
    return resolveConfig(
      [
        { plugin: "kernel", shape: kernelShape(this.#options) },
        ...plugins.map((p) => ({ plugin: p.name, shape: p.configShape(profile), options: p.options, check: p.check })),
        ...(extra
          ? [{ plugin: extra.name, shape: isConfigSpec(extra.shape) ? extra.shape.shape(profile) : extra.shape }]
          : []),
      ],
      layers,
      profile,
    );
  }

  async #start(): Promise<void> {
    const began = this.#runtime.now();
    this.#startedAt = Date.now();
    this.#state.phase = "starting";
    try {
      // Only the plugins that run in this process type start, and only their config is read.
      const plugins = selectPlugins(this.#options.plugins, this.#types, this.#registry.external());
      const loaded = this.#loaded;
      this.#loaded = undefined;
      const { layers, profile } = loaded ?? (await this.#layers(plugins));
      const graph = buildGraph(plugins, this.#registry.external());
      const resolved = this.#resolve(layers, profile, plugins);
      // The report of bad config is logged in the format and at the level asked for, if those parsed.
      this.#configureLogger(resolved.byPlugin.get("kernel") ?? {});
      if (resolved.issues.length > 0) throw new ConfigError(resolved.issues);
      this.#resolved = resolved;
      this.#configure(resolved);
      this.#registry.buildFallbacks(graph.fallbacks);
      const base = this.#base as ContextBase;
      await this.#plugins.start(graph, {
        plugins,
        configs: resolved.byPlugin,
        context: (plugin, started, signal) =>
          this.#registry.context(plugin, { config: started.config, hooks: started, signal, base }),
      });
      await this.#plugins.ready();
    } catch (error) {
      // A stop that interrupted the start ends it cleanly: the app is stopped, not failed.
      const interrupted = this.#plugins.interrupted;
      this.#state.phase = interrupted ? "stopping" : "failed";
      await this.#plugins.rollback(interrupted ? "shutdown requested during start" : "start failed");
      if (interrupted) this.#state.phase = "stopped";
      throw error;
    }
    this.#state.phase = "ready";
    this.#logger.info("app ready", {
      plugins: this.#plugins.started.length,
      duration_ms: round(this.#runtime.now() - began),
    });
  }

  #configure(resolved: ResolvedConfig): void {
    const config = resolved.byPlugin.get("kernel") as unknown as KernelConfig;
    this.#kernelConfig = config;
    this.#profile = resolved.profile;
    this.#registry.profile = resolved.profile;
    this.#base = {
      profile: resolved.profile,
      processes: this.#types,
      logger: this.#logger,
      lifecycle: this.#state,
      // A copy's servers share the port with the other copies.
      runtime: this.#copy === undefined ? this.#runtime : reusingPort(this.#runtime),
      redactor: this.#logger.redactor,
    };
    this.#logger.redactor.addSecrets(resolved.secretValues);
    this.#configureLogger(config);
    this.#logger.setBase({
      service: config.APP_NAME,
      version: config.APP_VERSION,
      environment: config.ENVIRONMENT,
      ...(this.#copy === undefined ? {} : { copy: Number(this.#copy) }),
    });
    this.#registry.setKernel(AppInfo, {
      name: config.APP_NAME,
      version: config.APP_VERSION,
      environment: config.ENVIRONMENT,
      startedAt: this.#startedAt,
    } satisfies AppInfo);
  }

  #configureLogger(kernel: Partial<KernelConfig>): void {
    if (kernel.LOG_LEVEL) this.#logger.setLevel(kernel.LOG_LEVEL);
    if (kernel.LOG_FORMAT) this.#logger.setFormat(kernel.LOG_FORMAT);
  }

  async #health(): Promise<HealthReport> {
    const info = this.#registry.find(AppInfo);
    const reader = {
      get: <T>(t: Token<T>) => this.get(t),
      find: <T>(t: Token<T>) => this.#registry.find(t),
    };
    const checks = await runHealthChecks(this.#plugins.started, {
      reader,
      now: () => this.#runtime.now(),
      timeoutMs: this.#options.healthTimeoutMs ?? 2_000,
      redact: (text) => this.#logger.redactor.string(text),
    });
    return {
      status: worstStatus(Object.values(checks)),
      name: this.name,
      version: info?.version ?? this.#options.version ?? "0.0.0",
      environment: info?.environment ?? this.#profile,
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      checks,
    };
  }

  async #stop(): Promise<void> {
    if (this.#startPromise && this.#state.phase === "starting") {
      this.#plugins.interrupt();
      this.#state.beginDrain("shutdown requested during start");
      await this.#startPromise.catch(() => {});
      return;
    }
    if (this.#state.phase !== "ready") {
      if (this.#state.phase === "created") this.#state.phase = "stopped";
      return;
    }
    const began = this.#runtime.now();
    const config = this.#kernelConfig as KernelConfig;
    this.#state.beginDrain("shutdown");
    this.#logger.info("draining", {
      in_flight: this.#state.inFlight,
      drain_delay_ms: config.DRAIN_DELAY_MS,
      shutdown_timeout_ms: config.SHUTDOWN_TIMEOUT_MS,
    });
    if (config.DRAIN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, config.DRAIN_DELAY_MS));
    const errors = await this.#plugins.drain(config.SHUTDOWN_TIMEOUT_MS);
    this.#state.phase = "stopping";
    errors.push(...(await this.#plugins.stop()));
    this.#state.phase = "stopped";
    this.#logger.info("app stopped", { duration_ms: round(this.#runtime.now() - began), problems: errors.length });
    if (errors.length > 0) {
      throw new AggregateError(
        errors,
        kernelErrors.message("TF_APP_STOP_FAILED", { app: this.name, count: errors.length }),
      );
    }
  }
}

/** The runtime with every server it starts bound with reusePort. */
function reusingPort(runtime: Runtime): Runtime {
  return { ...runtime, serve: (options) => runtime.serve({ ...options, reusePort: true }) };
}

/** The process types of `AppOptions.process`, checked; `dev`'s when none is given. */
function toTypes(process: ProcessType | readonly ProcessType[] | undefined): ReadonlySet<ProcessType> {
  if (process === undefined) return new Set(devProcessTypes);
  const list = typeof process === "string" ? [process] : [...process];
  checkTypes(list, "createApp");
  return new Set(list);
}
