import type { HealthCheck } from "./contracts/health.ts";
import { withDeadline } from "./deadline.ts";
import { PluginTimeoutError } from "./errors.ts";
import type { Plugin, ServiceReader } from "./plugin.ts";

/** What {@link runHealthChecks} needs from the app. */
export interface HealthCheckOptions {
  /** The registry, as arrow functions (they are passed on unbound). */
  readonly reader: ServiceReader;
  /** Monotonic milliseconds, for latencies. */
  readonly now: () => number;
  /** Budget of each check; one that runs over is `down`. */
  readonly timeoutMs: number;
  /** Masks secrets in a check's detail. */
  readonly redact: (text: string) => string;
}

/**
 * Runs the health check of every started plugin that has one, concurrently, each under its
 * budget, and records its latency. A check that throws or runs over is `down` with the reason.
 */
export async function runHealthChecks(
  started: ReadonlyArray<{ readonly plugin: Plugin; readonly config: Record<string, unknown> }>,
  options: HealthCheckOptions,
): Promise<Record<string, HealthCheck>> {
  const checks: Record<string, HealthCheck> = {};
  await Promise.all(
    started
      .filter((r) => r.plugin.health)
      .map(async ({ plugin, config }) => {
        const began = options.now();
        const latencyMs = () => Math.round((options.now() - began) * 100) / 100;
        const { timeoutMs } = options;
        try {
          const result = await withDeadline(
            (signal) =>
              plugin.health?.({ config, signal, get: options.reader.get, find: options.reader.find }) ?? {
                status: "up" as const,
              },
            { timeoutMs, error: () => new PluginTimeoutError(plugin.name, "health", timeoutMs) },
          );
          checks[plugin.name] = {
            status: result.status,
            ...(result.detail ? { detail: options.redact(result.detail) } : {}),
            latencyMs: latencyMs(),
          };
        } catch (error) {
          const detail = error instanceof Error ? error.message : String(error);
          checks[plugin.name] = { status: "down", detail: options.redact(detail), latencyMs: latencyMs() };
        }
      }),
  );
  return checks;
}
