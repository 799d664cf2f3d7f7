import { withDeadline } from "./deadline.ts";
import { KernelError, kernelErrors, PluginTimeoutError } from "./errors.ts";
import type { PluginGraph } from "./graph.ts";
import type { KernelLogger } from "./logger.ts";
import type { Plugin, PluginContext } from "./plugin.ts";
import type { PluginHooks, Registry } from "./registry.ts";
import type { AppState } from "./state.ts";

/** A plugin whose start ran (even if it failed: it may have opened resources), with its hooks. */
export interface Started extends PluginHooks {
  readonly plugin: Plugin;
  readonly config: Record<string, unknown>;
}

/** Thrown into a start that a shutdown interrupted; not a failure of the plugin. */
class StartInterrupted extends Error {
  override name = "StartInterrupted";
}

/** What the {@link PluginLifecycle} engine works with. */
export interface LifecycleOptions {
  readonly registry: Registry;
  readonly state: AppState;
  readonly logger: KernelLogger;
  /** Monotonic milliseconds, for durations. */
  readonly now: () => number;
  /** Default start budget per plugin. */
  readonly startTimeoutMs: number;
  /** Default stop budget per plugin. */
  readonly stopTimeoutMs: number;
}

/** How one plugin's context is made; the app binds the registry and the shared fields. */
export type ContextFactory = (
  plugin: Plugin,
  started: Started,
  signal: AbortSignal,
) => PluginContext<Record<string, unknown>>;

/**
 * The lifecycle engine, as uber-go/fx keeps internal/lifecycle: starts plugins by the graph
 * (each as soon as its dependencies have, under its budget), runs the ready hooks, drains, stops
 * what started in reverse, and rolls back a failed start. The app decides when; this does how.
 */
export class PluginLifecycle {
  readonly #options: LifecycleOptions;
  readonly #started: Started[] = [];
  readonly #starting = new Set<AbortController>();
  #interrupted = false;

  constructor(options: LifecycleOptions) {
    this.#options = options;
  }

  /** The plugins whose start ran, in the order they did (health checks read it). */
  get started(): readonly Started[] {
    return this.#started;
  }

  /** True once {@link interrupt} was called: a start's failure is then the shutdown, not an error. */
  get interrupted(): boolean {
    return this.#interrupted;
  }

  /** Stops a start in progress: starts under way see their signal abort, the rest never begin. */
  interrupt(): void {
    this.#interrupted = true;
    for (const controller of this.#starting) controller.abort(new StartInterrupted("shutdown"));
  }

  /**
   * Starts every plugin once its dependencies have started; independent ones run concurrently.
   * The first failure aborts the starts under way and is rethrown naming its plugin.
   */
  async start(
    graph: Pick<PluginGraph, "dependencies" | "order">,
    options: {
      readonly plugins: readonly Plugin[];
      readonly configs: ReadonlyMap<string, Record<string, unknown>>;
      readonly context: ContextFactory;
    },
  ): Promise<void> {
    const plugins = new Map(options.plugins.map((p) => [p.name, p]));
    const running = new Map<string, Promise<void>>();
    let failure: { plugin: string; error: unknown } | undefined;
    const launch = (name: string): Promise<void> => {
      let promise = running.get(name);
      if (promise) return promise;
      promise = (async () => {
        await Promise.all((graph.dependencies.get(name) ?? []).map(launch));
        if (failure || this.#interrupted) throw new StartInterrupted(name);
        const plugin = plugins.get(name) as Plugin;
        try {
          await this.#startOne(plugin, options.configs.get(name) ?? {}, options.context);
        } catch (error) {
          failure ??= { plugin: name, error };
          for (const controller of this.#starting) controller.abort(new StartInterrupted(name));
          throw error;
        }
      })();
      running.set(name, promise);
      return promise;
    };
    await Promise.allSettled(graph.order.map(launch));
    if (failure) throw this.#startFailure(failure.plugin, failure.error, "start");
    if (this.#interrupted) throw new StartInterrupted("shutdown requested during start");
  }

  async #startOne(plugin: Plugin, config: Record<string, unknown>, context: ContextFactory): Promise<void> {
    const { registry, state, logger, now } = this.#options;
    const began = now();
    const controller = new AbortController();
    this.#starting.add(controller);
    const record: Started = { plugin, config, stopHooks: [], drainHooks: [], readyHooks: [] };
    const timeoutMs = this.#startBudget(plugin);
    try {
      await withDeadline((signal) => plugin.start(context(plugin, record, signal)), {
        timeoutMs,
        signal: AbortSignal.any([state.draining, controller.signal]),
        error: () => new PluginTimeoutError(plugin.name, "start", timeoutMs),
      });
      const missing = plugin.provides.filter((t) => !registry.has(t));
      if (missing.length > 0) {
        throw kernelErrors.create("TF_TOKEN_NOT_PROVIDED", { plugin: plugin.name, tokens: missing.map((t) => t.id) });
      }
    } finally {
      this.#starting.delete(controller);
      // Even a failed start may have opened resources and registered their stop hooks.
      this.#started.push(record);
    }
    logger.info("plugin started", { plugin: plugin.name, duration_ms: round(now() - began) });
  }

  /** Runs every plugin's ready hooks in start order, each under the plugin's start budget. */
  async ready(): Promise<void> {
    for (const { plugin, readyHooks } of [...this.#started]) {
      for (const hook of readyHooks) {
        if (this.#interrupted) throw new StartInterrupted("shutdown requested during start");
        const timeoutMs = this.#startBudget(plugin);
        try {
          await withDeadline(hook, { timeoutMs, error: () => new PluginTimeoutError(plugin.name, "start", timeoutMs) });
        } catch (error) {
          throw this.#startFailure(plugin.name, error, "ready hook");
        }
      }
    }
  }

  /**
   * Runs every drain hook concurrently and waits for the tracked in-flight work, up to
   * `timeoutMs`; the hooks' deadline signal aborts then. Returns the problems, already logged.
   */
  async drain(timeoutMs: number): Promise<unknown[]> {
    const { state, logger } = this.#options;
    const errors: unknown[] = [];
    const pending = new Set<string>();
    try {
      await withDeadline(
        (deadline) =>
          Promise.all([
            ...this.#started.flatMap(({ plugin, drainHooks }) =>
              drainHooks.map(async (hook) => {
                pending.add(plugin.name);
                try {
                  await hook(deadline);
                } catch (error) {
                  errors.push(error);
                  logger.error("drain failed", { plugin: plugin.name, error });
                } finally {
                  pending.delete(plugin.name);
                }
              }),
            ),
            state.settled(),
          ]),
        { timeoutMs, error: () => new PluginTimeoutError("kernel", "drain", timeoutMs) },
      );
    } catch (error) {
      errors.push(error);
      logger.error("drain deadline passed: abandoning in-flight work", {
        shutdown_timeout_ms: timeoutMs,
        in_flight: state.inFlight,
        waiting_for: [...pending],
      });
    }
    return errors;
  }

  /** Undoes a failed start: stops what started, logging what fails to stop. */
  async rollback(reason: string): Promise<void> {
    if (this.#started.length === 0 && !this.#options.registry.hasFallbacks) return;
    this.#options.state.beginDrain(reason);
    const errors = await this.stop();
    for (const error of errors) this.#options.logger.error("rollback: stop failed", { error });
  }

  /**
   * Stops what started, in reverse, each plugin's hooks in reverse under its budget, then the
   * fallbacks the kernel built; keeps going past failures and returns them all.
   */
  async stop(): Promise<unknown[]> {
    const { logger, now, registry } = this.#options;
    const errors: unknown[] = [];
    while (this.#started.length > 0) {
      const { plugin, stopHooks } = this.#started.pop() as Started;
      if (stopHooks.length === 0) continue;
      const began = now();
      const timeoutMs = plugin.stopTimeoutMs ?? this.#options.stopTimeoutMs;
      try {
        await withDeadline(() => runStopHooks(plugin, stopHooks), {
          timeoutMs,
          error: () => new PluginTimeoutError(plugin.name, "stop", timeoutMs),
        });
        logger.debug("plugin stopped", { plugin: plugin.name, duration_ms: round(now() - began) });
      } catch (error) {
        errors.push(error);
        const message = error instanceof PluginTimeoutError ? "plugin stop timed out" : "plugin stop failed";
        logger.error(message, { plugin: plugin.name, error });
      }
    }
    errors.push(...(await registry.disposeFallbacks((error) => logger.error("fallback dispose failed", { error }))));
    return errors;
  }

  #startBudget(plugin: Plugin): number {
    return plugin.startTimeoutMs ?? this.#options.startTimeoutMs;
  }

  /** Kernel errors already name the plugin; anything else is wrapped so the message does. */
  #startFailure(plugin: string, error: unknown, what: "start" | "ready hook"): unknown {
    if (error instanceof KernelError) return error;
    const message = error instanceof Error ? error.message : String(error);
    // Errors that follow the catalogue style already start with the plugin's name.
    const reason = message.startsWith(`${plugin}: `) ? message.slice(plugin.length + 2) : message;
    return kernelErrors.create(
      "TF_PLUGIN_START_FAILED",
      { plugin, what, reason: this.#options.logger.redactor.string(reason) },
      { cause: error },
    );
  }
}

/** Runs one plugin's stop hooks, newest first, all of them even past a failure. */
async function runStopHooks(plugin: Plugin, hooks: Array<() => void | Promise<void>>): Promise<void> {
  const errors: unknown[] = [];
  for (const hook of hooks.reverse()) {
    try {
      await hook();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) {
    throw errors.length === 1
      ? errors[0]
      : new AggregateError(errors, `${plugin.name}: ${errors.length} stop hooks failed`);
  }
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
