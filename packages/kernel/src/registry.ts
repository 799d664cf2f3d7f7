import type { Profile } from "./config.ts";
import { AppInfo, Lifecycle } from "./contracts/health.ts";
import { LogContext, Logger } from "./contracts/logger.ts";
import { ConfigError, type ConfigIssue, kernelErrors } from "./errors.ts";
import type { Plugin, PluginContext } from "./plugin.ts";
import type { ProcessType } from "./process-types.ts";
import type { Redactor } from "./redact.ts";
import type { Runtime } from "./runtime/types.ts";
import { embeddedInfo, type Override, type Token } from "./token.ts";

/** The tokens the kernel provides itself: no plugin may be asked to. */
export const builtIn: ReadonlySet<Token<unknown>> = new Set<Token<unknown>>([Logger, LogContext, Lifecycle, AppInfo]);

/** The hooks a plugin registers through its context, kept by the lifecycle engine. */
export interface PluginHooks {
  readonly stopHooks: Array<() => void | Promise<void>>;
  readonly drainHooks: Array<(deadline: AbortSignal) => void | Promise<void>>;
  readonly readyHooks: Array<() => void | Promise<void>>;
}

/** What every plugin context shares, set once the config is resolved. */
export interface ContextBase {
  readonly profile: Profile;
  readonly processes: ReadonlySet<ProcessType>;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  readonly runtime: Runtime;
  readonly redactor: Redactor;
}

/**
 * The service registry: overrides, the kernel's own services, what plugins provide and the
 * fallbacks built for tokens nobody provides. It hands each plugin a context that only reads
 * and provides the tokens the plugin declared.
 */
export class Registry {
  readonly #values = new Map<Token<unknown>, unknown>();
  readonly #overridden = new Set<Token<unknown>>();
  readonly #fallbacks: unknown[] = [];
  #profile: Profile = "development";

  /** Overrides win over anything a plugin provides; `kernel` are the kernel's own services. */
  constructor(overrides: readonly Override[], kernel: readonly Override[]) {
    for (const entry of overrides) {
      this.#values.set(entry.token, entry.value);
      this.#overridden.add(entry.token);
    }
    for (const entry of kernel) this.#values.set(entry.token, entry.value);
  }

  /** The profile the production refusals check against; set once the config is resolved. */
  set profile(profile: Profile) {
    this.#profile = profile;
  }

  /** Tokens no plugin has to provide: the overridden ones and the kernel's. */
  external(): ReadonlySet<Token<unknown>> {
    return new Set([...this.#overridden, ...builtIn]);
  }

  has(token: Token<unknown>): boolean {
    return this.#values.has(token);
  }

  /** The value behind `token`, or `undefined`. */
  find<T>(token: Token<T>): T | undefined {
    return this.#values.get(token) as T | undefined;
  }

  /** The value behind `token`; an error saying `who` asked when nobody provides it. */
  get<T>(token: Token<T>, who: string): T {
    if (!this.#values.has(token)) {
      throw kernelErrors.create("TF_TOKEN_MISSING", { who, token: token.id });
    }
    return this.#values.get(token) as T;
  }

  /** Sets one of the kernel's own services (AppInfo, once the config is known). */
  setKernel<T>(token: Token<T>, value: T): void {
    this.#values.set(token, value);
  }

  /** Builds the fallback of every token nobody provides; production refuses those that lose data. */
  buildFallbacks(tokens: readonly Token<unknown>[]): void {
    const issues: ConfigIssue[] = [];
    for (const token of tokens) {
      const value = token.fallback?.({ profile: this.#profile });
      const refusal = this.#refuseEmbedded(token, value, "kernel");
      if (refusal) issues.push(refusal);
      else {
        this.#values.set(token, value);
        this.#fallbacks.push(value);
      }
    }
    if (issues.length > 0) throw new ConfigError(issues);
  }

  /** True while fallbacks are left to dispose. */
  get hasFallbacks(): boolean {
    return this.#fallbacks.length > 0;
  }

  /** Disposes the fallbacks the kernel built, newest first; returns what failed. */
  async disposeFallbacks(onError: (error: unknown) => void): Promise<unknown[]> {
    const errors: unknown[] = [];
    while (this.#fallbacks.length > 0) {
      const value = this.#fallbacks.pop() as { [Symbol.asyncDispose]?: () => Promise<void>; close?: () => unknown };
      const dispose = value?.[Symbol.asyncDispose] ?? value?.close;
      try {
        if (typeof dispose === "function") await dispose.call(value);
      } catch (error) {
        errors.push(error);
        onError(error);
      }
    }
    return errors;
  }

  /**
   * The context `plugin.start` receives: its config, a child logger, and registry access
   * guarded by what the plugin declared (asking for or providing an undeclared token is an error).
   */
  context(
    plugin: Plugin,
    options: {
      readonly config: Record<string, unknown>;
      readonly hooks: PluginHooks;
      readonly signal: AbortSignal;
      readonly base: ContextBase;
    },
  ): PluginContext<Record<string, unknown>> {
    const { config, hooks, signal, base } = options;
    const declared = new Set([
      ...plugin.requires,
      ...plugin.optional,
      ...(plugin.late ?? []),
      ...plugin.provides,
      ...builtIn,
    ]);
    const find = <T>(token: Token<T>): T | undefined => {
      if (!declared.has(token)) {
        throw kernelErrors.create("TF_TOKEN_UNDECLARED", { plugin: plugin.name, token: token.id, use: "asked for" });
      }
      return this.#values.get(token) as T | undefined;
    };
    return {
      name: plugin.name,
      config,
      profile: base.profile,
      processes: base.processes,
      logger: base.logger.child({ plugin: plugin.name }),
      runtime: base.runtime,
      redactor: base.redactor,
      signal,
      lifecycle: base.lifecycle,
      find,
      get: <T>(token: Token<T>): T => {
        const value = find(token);
        if (value === undefined && !this.#values.has(token)) {
          throw kernelErrors.create("TF_TOKEN_MISSING", { who: plugin.name, token: token.id });
        }
        return value as T;
      },
      provide: <T>(token: Token<T>, value: T) => {
        if (!plugin.provides.includes(token)) {
          throw kernelErrors.create("TF_TOKEN_UNDECLARED", { plugin: plugin.name, token: token.id, use: "provided" });
        }
        if (this.#overridden.has(token)) return;
        const refusal = this.#refuseEmbedded(token, value, plugin.name);
        if (refusal) throw new ConfigError([refusal]);
        this.#values.set(token, value);
      },
      onStop: (hook) => {
        hooks.stopHooks.push(hook);
      },
      onReady: (hook) => {
        hooks.readyHooks.push(hook);
      },
      onDrain: (hook) => {
        hooks.drainHooks.push(hook);
      },
    };
  }

  #refuseEmbedded(token: Token<unknown>, value: unknown, plugin: string): ConfigIssue | undefined {
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
}
