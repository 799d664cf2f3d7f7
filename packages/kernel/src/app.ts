import { type KernelConfig, kernelShape, loadConfigLayers } from "./app-config.ts";
import { type ConfigEntry, type ConfigLayer, type Profile, type ResolvedConfig, resolveConfig } from "./config.ts";
import { AppInfo, type HealthReport, Lifecycle, type Phase } from "./contracts/health.ts";
import { LogContext, Logger } from "./contracts/logger.ts";
import { ConfigError, KernelError, PluginTimeoutError } from "./errors.ts";
import { buildGraph } from "./graph.ts";
import { runHealthChecks } from "./health-checks.ts";
import { AppLifecycle, worstStatus } from "./lifecycle.ts";
import { createLogger, type KernelLogger } from "./logger.ts";
import type { Plugin, PluginContext } from "./plugin.ts";
import { runApp } from "./run.ts";
import { detectRuntime } from "./runtime/detect.ts";
import type { Runtime } from "./runtime/types.ts";
import { withTimeout } from "./timeout.ts";
import { embeddedInfo, type Override, type Token } from "./token.ts";

/** Options for {@link createApp}. */
export interface AppOptions {
  /** The app's name; APP_NAME overrides it. */
  readonly name: string;
  /** The app's version; APP_VERSION overrides it. */
  readonly version?: string;
  readonly plugins: readonly Plugin[];
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
  /** A service from the registry, once started (for tests and scripts). */
  get<T>(token: Token<T>): T;
  /** Loads config, checks the graph, starts every plugin; rolls back and rejects on any failure. */
  start(): Promise<void>;
  /** Drains and stops; rejects with an AggregateError listing every problem. Idempotent. */
  stop(): Promise<void>;
  /** Starts, waits for SIGTERM/SIGINT, drains, stops and exits the process (0, 1, or 78 for config). */
  run(): Promise<never>;
  /** The effective config with the source of each value, secrets redacted, without starting. */
  inspectConfig(): Promise<ConfigEntry[]>;
  /** `await using app = createApp(...)` stops the app when the scope ends. */
  [Symbol.asyncDispose](): Promise<void>;
}

interface Started {
  readonly plugin: Plugin;
  readonly config: Record<string, unknown>;
  readonly stopHooks: Array<() => void | Promise<void>>;
  readonly drainHooks: Array<(deadline: AbortSignal) => void | Promise<void>>;
  readonly readyHooks: Array<() => void | Promise<void>>;
}

const builtIn: ReadonlySet<Token<unknown>> = new Set<Token<unknown>>([Logger, LogContext, Lifecycle, AppInfo]);

/** Thrown into a start that a shutdown interrupted; not a failure of the plugin. */
class StartInterrupted extends Error {
  override name = "StartInterrupted";
}

/**
 * Builds an application from plugins. Nothing runs until `start()` or `run()`.
 *
 * @example
 * ```ts
 * const app = createApp({ name: "agent", plugins: [http(), metrics(), chatRoutes()] });
 * await app.run();
 * ```
 */
export function createApp(options: AppOptions): App {
  return new Application(options);
}

class Application implements App {
  readonly #options: AppOptions;
  readonly #runtime: Runtime;
  readonly #logger: KernelLogger;
  readonly #lifecycle: AppLifecycle;
  readonly #registry = new Map<Token<unknown>, unknown>();
  readonly #overridden = new Set<Token<unknown>>();
  readonly #started: Started[] = [];
  readonly #startControllers = new Set<AbortController>();
  readonly #fallbacks: unknown[] = [];
  #kernelConfig: KernelConfig | undefined;
  #profile: Profile = "development";
  #startedAt = Date.now();
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #shutdownRequested = false;

  constructor(options: AppOptions) {
    this.#options = options;
    this.#runtime = options.runtime ?? detectRuntime();
    const runtime = this.#runtime;
    this.#logger = createLogger({ write: options.log ?? ((line) => runtime.writeLine(line)) });
    this.#lifecycle = new AppLifecycle(() => this.#health());
    for (const entry of options.overrides ?? []) {
      this.#registry.set(entry.token, entry.value);
      this.#overridden.add(entry.token);
    }
    this.#registry.set(Logger, this.#logger);
    this.#registry.set(LogContext, this.#logger);
    this.#registry.set(Lifecycle, this.#lifecycle);
  }

  get name(): string {
    return this.#kernelConfig?.APP_NAME ?? this.#options.name;
  }

  get phase(): Phase {
    return this.#lifecycle.phase;
  }

  get lifecycle(): Lifecycle {
    return this.#lifecycle;
  }

  get logger(): Logger {
    return this.#logger;
  }

  get<T>(token: Token<T>): T {
    if (!this.#registry.has(token)) {
      throw new KernelError("TF_TOKEN_MISSING", `${this.name}: nobody provides "${token.id}"`);
    }
    return this.#registry.get(token) as T;
  }

  async inspectConfig(): Promise<ConfigEntry[]> {
    const { layers, profile } = await this.#layers();
    return [...this.#resolve(layers, profile).entries];
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

  run(): Promise<never> {
    return runApp(this, this.#runtime, this.#logger);
  }

  /** True once a stop arrived while starting: the start's failure is then not an error. */
  get shutdownRequested(): boolean {
    return this.#shutdownRequested;
  }

  #layers(): Promise<{ layers: ConfigLayer[]; profile: Profile }> {
    return loadConfigLayers(this.#runtime, this.#options);
  }

  #resolve(layers: ConfigLayer[], profile: Profile): ResolvedConfig {
    return resolveConfig(
      [
        { plugin: "kernel", shape: kernelShape(this.#options) },
        ...this.#options.plugins.map((p) => ({ plugin: p.name, shape: p.configShape(profile) })),
      ],
      layers,
      profile,
    );
  }

  async #start(): Promise<void> {
    const began = this.#runtime.now();
    this.#startedAt = Date.now();
    this.#lifecycle.phase = "starting";
    try {
      const { layers, profile } = await this.#layers();
      const graph = buildGraph(this.#options.plugins, new Set([...this.#overridden, ...builtIn]));
      const resolved = this.#resolve(layers, profile);
      this.#configure(resolved);
      this.#buildFallbacks(graph.fallbacks);
      await this.#startPlugins(graph.dependencies, graph.order, resolved);
      await this.#runReadyHooks();
    } catch (error) {
      this.#lifecycle.phase = "failed";
      await this.#rollback();
      throw error;
    }
    this.#lifecycle.phase = "ready";
    this.#logger.info("app ready", {
      plugins: this.#started.length,
      duration_ms: round(this.#runtime.now() - began),
    });
  }

  #configure(resolved: ResolvedConfig): void {
    const config = resolved.byPlugin.get("kernel") as unknown as KernelConfig;
    this.#kernelConfig = config;
    this.#profile = resolved.profile;
    this.#logger.redactor.addSecrets(resolved.secretValues);
    this.#logger.setLevel(config.LOG_LEVEL);
    this.#logger.setFormat(config.LOG_FORMAT);
    this.#logger.setBase({ service: config.APP_NAME, version: config.APP_VERSION, environment: config.ENVIRONMENT });
    this.#registry.set(AppInfo, {
      name: config.APP_NAME,
      version: config.APP_VERSION,
      environment: config.ENVIRONMENT,
      startedAt: this.#startedAt,
    } satisfies AppInfo);
  }

  #buildFallbacks(tokens: readonly Token<unknown>[]): void {
    const issues = [];
    for (const token of tokens) {
      const value = token.fallback?.({ profile: this.#profile });
      const refusal = this.#refuseEmbedded(token, value, "kernel");
      if (refusal) issues.push(refusal);
      else {
        this.#registry.set(token, value);
        this.#fallbacks.push(value);
      }
    }
    if (issues.length > 0) throw new ConfigError(issues);
  }

  /** Disposes the fallbacks the kernel built, after every plugin that used them has stopped. */
  async #disposeFallbacks(errors: unknown[]): Promise<void> {
    while (this.#fallbacks.length > 0) {
      const value = this.#fallbacks.pop() as { [Symbol.asyncDispose]?: () => Promise<void>; close?: () => unknown };
      const dispose = value?.[Symbol.asyncDispose] ?? value?.close;
      try {
        if (typeof dispose === "function") await dispose.call(value);
      } catch (error) {
        errors.push(error);
        this.#logger.error("fallback dispose failed", { error });
      }
    }
  }

  #refuseEmbedded(token: Token<unknown>, value: unknown, plugin: string) {
    const info = embeddedInfo(value);
    if (this.#profile !== "production" || !info?.losesData) return undefined;
    return {
      plugin,
      name: token.id,
      expected: "a durable adapter in production (configure its backing service)",
      received: `the ${info.name}, which loses data on restart`,
      source: "production profile",
    };
  }

  async #startPlugins(
    dependencies: ReadonlyMap<string, readonly string[]>,
    order: readonly string[],
    resolved: ResolvedConfig,
  ): Promise<void> {
    const plugins = new Map(this.#options.plugins.map((p) => [p.name, p]));
    const running = new Map<string, Promise<void>>();
    let failure: { plugin: string; error: unknown } | undefined;
    const launch = (name: string): Promise<void> => {
      let promise = running.get(name);
      if (promise) return promise;
      promise = (async () => {
        await Promise.all((dependencies.get(name) ?? []).map(launch));
        if (failure || this.#shutdownRequested) throw new StartInterrupted(name);
        const plugin = plugins.get(name) as Plugin;
        try {
          await this.#startPlugin(plugin, resolved.byPlugin.get(name) ?? {});
        } catch (error) {
          failure ??= { plugin: name, error };
          for (const controller of this.#startControllers) controller.abort(new StartInterrupted(name));
          throw error;
        }
      })();
      running.set(name, promise);
      return promise;
    };
    await Promise.allSettled(order.map(launch));
    if (failure) {
      const { plugin, error } = failure;
      // Kernel errors already name the plugin; anything else is wrapped so the message does.
      if (error instanceof KernelError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      // Errors that follow the catalogue style already start with the plugin's name.
      const reason = message.startsWith(`${plugin}: `) ? message.slice(plugin.length + 2) : message;
      throw new KernelError(
        "TF_PLUGIN_START_FAILED",
        `${plugin}: start failed: ${this.#logger.redactor.string(reason)}`,
        {
          cause: error,
        },
      );
    }
    if (this.#shutdownRequested) throw new StartInterrupted("shutdown requested during start");
  }

  async #startPlugin(plugin: Plugin, config: Record<string, unknown>): Promise<void> {
    const began = this.#runtime.now();
    const controller = new AbortController();
    this.#startControllers.add(controller);
    const record: Started = { plugin, config, stopHooks: [], drainHooks: [], readyHooks: [] };
    const context = this.#context(plugin, record, AbortSignal.any([this.#lifecycle.draining, controller.signal]));
    try {
      await withTimeout(() => plugin.start(context), {
        plugin: plugin.name,
        phase: "start",
        timeoutMs: plugin.startTimeoutMs ?? this.#options.startTimeoutMs ?? 15_000,
        controller,
      });
      const missing = plugin.provides.filter((t) => !this.#registry.has(t));
      if (missing.length > 0) {
        throw new KernelError(
          "TF_TOKEN_MISSING",
          `${plugin.name}: declared that it provides ${missing.map((t) => `"${t.id}"`).join(", ")} but did not provide it during start`,
        );
      }
    } finally {
      this.#startControllers.delete(controller);
      // Even a failed start may have opened resources and registered their stop hooks.
      this.#started.push(record);
    }
    this.#logger.info("plugin started", { plugin: plugin.name, duration_ms: round(this.#runtime.now() - began) });
  }

  /** Runs every plugin's ready hooks in start order, each under the plugin's start budget. */
  async #runReadyHooks(): Promise<void> {
    for (const { plugin, readyHooks } of [...this.#started]) {
      for (const hook of readyHooks) {
        if (this.#shutdownRequested) throw new StartInterrupted("shutdown requested during start");
        try {
          await withTimeout(hook, {
            plugin: plugin.name,
            phase: "start",
            timeoutMs: plugin.startTimeoutMs ?? this.#options.startTimeoutMs ?? 15_000,
          });
        } catch (error) {
          if (error instanceof KernelError) throw error;
          const message = this.#logger.redactor.string(error instanceof Error ? error.message : String(error));
          throw new KernelError("TF_PLUGIN_START_FAILED", `${plugin.name}: ready hook failed: ${message}`, {
            cause: error,
          });
        }
      }
    }
  }

  #context(plugin: Plugin, record: Started, signal: AbortSignal): PluginContext<Record<string, unknown>> {
    const declared = new Set([
      ...plugin.requires,
      ...plugin.optional,
      ...(plugin.late ?? []),
      ...plugin.provides,
      ...builtIn,
    ]);
    const find = <T>(token: Token<T>): T | undefined => {
      if (!declared.has(token)) {
        throw new KernelError(
          "TF_TOKEN_UNDECLARED",
          `${plugin.name}: asked for "${token.id}" without listing it in requires or optional`,
        );
      }
      return this.#registry.get(token) as T | undefined;
    };
    return {
      name: plugin.name,
      config: record.config,
      profile: this.#profile,
      logger: this.#logger.child({ plugin: plugin.name }),
      signal,
      lifecycle: this.#lifecycle,
      find,
      get: <T>(token: Token<T>): T => {
        const value = find(token);
        if (value === undefined && !this.#registry.has(token)) {
          throw new KernelError("TF_TOKEN_MISSING", `${plugin.name}: asked for "${token.id}", which nobody provides`);
        }
        return value as T;
      },
      provide: <T>(token: Token<T>, value: T) => {
        if (!plugin.provides.includes(token)) {
          throw new KernelError(
            "TF_TOKEN_UNDECLARED",
            `${plugin.name}: provided "${token.id}" without listing it in provides`,
          );
        }
        if (this.#overridden.has(token)) return;
        const refusal = this.#refuseEmbedded(token, value, plugin.name);
        if (refusal) throw new ConfigError([refusal]);
        this.#registry.set(token, value);
      },
      onStop: (hook) => {
        record.stopHooks.push(hook);
      },
      onReady: (hook) => {
        record.readyHooks.push(hook);
      },
      onDrain: (hook) => {
        record.drainHooks.push(hook);
      },
    };
  }

  async #health(): Promise<HealthReport> {
    const info = this.#registry.get(AppInfo) as AppInfo | undefined;
    const reader = {
      get: <T>(t: Token<T>) => this.get(t),
      find: <T>(t: Token<T>) => this.#registry.get(t) as T | undefined,
    };
    const checks = await runHealthChecks(this.#started, {
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
    if (this.#startPromise && this.#lifecycle.phase === "starting") {
      this.#shutdownRequested = true;
      this.#lifecycle.beginDrain("shutdown requested during start");
      for (const controller of this.#startControllers) controller.abort(new StartInterrupted("shutdown"));
      await this.#startPromise.catch(() => {});
      return;
    }
    if (this.#lifecycle.phase !== "ready") {
      if (this.#lifecycle.phase === "created") this.#lifecycle.phase = "stopped";
      return;
    }
    const began = this.#runtime.now();
    const errors: unknown[] = [];
    const config = this.#kernelConfig as KernelConfig;
    this.#lifecycle.beginDrain("shutdown");
    this.#logger.info("draining", {
      in_flight: this.#lifecycle.inFlight,
      drain_delay_ms: config.DRAIN_DELAY_MS,
      shutdown_timeout_ms: config.SHUTDOWN_TIMEOUT_MS,
    });
    if (config.DRAIN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, config.DRAIN_DELAY_MS));
    await this.#drain(config.SHUTDOWN_TIMEOUT_MS, errors);
    this.#lifecycle.phase = "stopping";
    errors.push(...(await this.#stopStarted()));
    this.#lifecycle.phase = "stopped";
    this.#logger.info("app stopped", { duration_ms: round(this.#runtime.now() - began), problems: errors.length });
    if (errors.length > 0) {
      throw new AggregateError(errors, `${this.name}: ${errors.length} problem(s) while stopping`);
    }
  }

  async #drain(timeoutMs: number, errors: unknown[]): Promise<void> {
    const deadline = new AbortController();
    const pending = new Set<string>();
    const work = [
      ...this.#started.flatMap(({ plugin, drainHooks }) =>
        drainHooks.map(async (hook) => {
          pending.add(plugin.name);
          try {
            await hook(deadline.signal);
          } catch (error) {
            errors.push(error);
            this.#logger.error("drain failed", { plugin: plugin.name, error });
          } finally {
            pending.delete(plugin.name);
          }
        }),
      ),
      this.#lifecycle.settled(),
    ];
    try {
      await withTimeout(() => Promise.all(work), { plugin: "kernel", phase: "drain", timeoutMs, controller: deadline });
    } catch (error) {
      errors.push(error);
      this.#logger.error("drain deadline passed: abandoning in-flight work", {
        shutdown_timeout_ms: timeoutMs,
        in_flight: this.#lifecycle.inFlight,
        waiting_for: [...pending],
      });
    }
  }

  async #rollback(): Promise<void> {
    if (this.#started.length === 0 && this.#fallbacks.length === 0) return;
    this.#lifecycle.beginDrain("start failed");
    const errors = await this.#stopStarted();
    for (const error of errors) this.#logger.error("rollback: stop failed", { error });
  }

  /** Stops what started, in reverse, each under its budget; keeps going past failures. */
  async #stopStarted(): Promise<unknown[]> {
    const errors: unknown[] = [];
    while (this.#started.length > 0) {
      const { plugin, stopHooks } = this.#started.pop() as Started;
      if (stopHooks.length === 0) continue;
      const began = this.#runtime.now();
      try {
        await withTimeout(
          async () => {
            const hookErrors: unknown[] = [];
            for (const hook of stopHooks.reverse()) {
              try {
                await hook();
              } catch (error) {
                hookErrors.push(error);
              }
            }
            if (hookErrors.length > 0) {
              throw hookErrors.length === 1
                ? hookErrors[0]
                : new AggregateError(hookErrors, `${plugin.name}: ${hookErrors.length} stop hooks failed`);
            }
          },
          {
            plugin: plugin.name,
            phase: "stop",
            timeoutMs: plugin.stopTimeoutMs ?? this.#options.stopTimeoutMs ?? 10_000,
          },
        );
        this.#logger.debug("plugin stopped", { plugin: plugin.name, duration_ms: round(this.#runtime.now() - began) });
      } catch (error) {
        errors.push(error);
        const message = error instanceof PluginTimeoutError ? "plugin stop timed out" : "plugin stop failed";
        this.#logger.error(message, { plugin: plugin.name, error });
      }
    }
    await this.#disposeFallbacks(errors);
    return errors;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
