/**
 * The kernel's error catalogue. Every error a caller is expected to catch carries a stable `code`;
 * messages name the plugin first and never carry a secret value.
 */

/** Stable codes for the kernel's errors, so callers and log queries can match on them. */
export type KernelErrorCode =
  | "TF_CONFIG_INVALID"
  | "TF_GRAPH_CYCLE"
  | "TF_GRAPH_MISSING_PROVIDER"
  | "TF_GRAPH_DUPLICATE_PROVIDER"
  | "TF_PLUGIN_DUPLICATE"
  | "TF_TOKEN_MISSING"
  | "TF_TOKEN_UNDECLARED"
  | "TF_PLUGIN_START_FAILED"
  | "TF_PLUGIN_TIMEOUT"
  | "TF_PLUGIN_STOP_FAILED"
  | "TF_APP_STATE";

/** Base class of the kernel's catchable errors: a stable `code`, an optional `cause`. */
export class KernelError extends Error {
  override name = "KernelError";
  readonly code: KernelErrorCode;
  constructor(code: KernelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** One configuration problem: the variable, what was expected, and what was received (redacted if secret). */
export interface ConfigIssue {
  readonly plugin: string;
  readonly name: string;
  readonly expected: string;
  readonly received: string;
  readonly source: string;
}

/**
 * Every configuration problem of every plugin, reported together. Processes exit 78 (EX_CONFIG) on it.
 *
 * @example
 * ```ts
 * try { await app.start(); } catch (e) { if (e instanceof ConfigError) console.error(e.issues); }
 * ```
 */
export class ConfigError extends KernelError {
  override name = "ConfigError";
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map(
      (i) => `  ${i.name} (${i.plugin}): expected ${i.expected}, got ${i.received} [from ${i.source}]`,
    );
    super(
      "TF_CONFIG_INVALID",
      `config: ${issues.length} invalid setting${issues.length === 1 ? "" : "s"}:\n${lines.join("\n")}`,
    );
    this.issues = issues;
  }
}

/** A dependency cycle, a missing provider or a duplicate provider, found before anything starts. */
export class GraphError extends KernelError {
  override name = "GraphError";
}

/** A plugin's start or stop hook exceeded its time budget; the message names the plugin. */
export class PluginTimeoutError extends KernelError {
  override name = "PluginTimeoutError";
  readonly plugin: string;
  readonly phase: "start" | "stop" | "drain" | "health";
  constructor(plugin: string, phase: "start" | "stop" | "drain" | "health", timeoutMs: number) {
    super("TF_PLUGIN_TIMEOUT", `${plugin}: ${phase} did not finish within ${timeoutMs} ms`);
    this.plugin = plugin;
    this.phase = phase;
  }
}

/** Process exit codes the kernel uses: 0 clean, 1 failure, 78 bad configuration (sysexits EX_CONFIG). */
export const ExitCode = { ok: 0, failure: 1, config: 78 } as const;
