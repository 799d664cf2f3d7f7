/**
 * OTLP export of the other two signals, each loaded and started only when its exporter is on:
 * metrics read from the Meter's snapshot every OTEL_METRIC_EXPORT_INTERVAL, log lines tapped from
 * the kernel logger into a bounded batch (OTEL_BLRP_*). Both export once more at stop.
 */
import type { AttributeValue, LogContext, Logger, Meter } from "@twelvefold/kernel";
import { type BatchOptions, BatchSpanProcessor } from "./batch.ts";
import type { OtelConfig } from "./config.ts";
import type { OtlpProtocol } from "./otlp.ts";

const PROBLEM_LOG_INTERVAL_MS = 30_000;

/**
 * Reports a signal's export problems without flooding the logs when the collector is down: one
 * warning, then at most one per interval with the count of those held back. `onFailure` sees every failure.
 */
export function problemReporter(
  logger: Logger,
  messages: { readonly dropped: string; readonly failed: string },
  onFailure: (message: string) => void,
): BatchOptions["onProblem"] {
  let lastLog = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (problem) => {
    if (problem.kind === "export-failed") {
      onFailure(problem.error instanceof Error ? problem.error.message : String(problem.error));
    }
    if (Date.now() - lastLog < PROBLEM_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    lastLog = Date.now();
    const fields = { ...problem, ...(suppressed ? { suppressed_reports: suppressed } : {}) };
    suppressed = 0;
    logger.warn(problem.kind === "dropped" ? messages.dropped : messages.failed, fields);
  };
}

/** What a signal's export needs from the plugin. */
export interface SignalOptions {
  readonly config: OtelConfig;
  readonly url: string;
  readonly protocol: OtlpProtocol;
  readonly headers: Readonly<Record<string, string>>;
  readonly resource: Readonly<Record<string, AttributeValue>>;
  readonly scope: { readonly name: string; readonly version: string };
  readonly onProblem: BatchOptions["onProblem"];
}

/** Stops a signal's export: one last export within `timeoutMs`, then nothing more. */
export type StopExport = (timeoutMs: number) => Promise<void>;

/**
 * Exports the Meter's snapshot over OTLP every OTEL_METRIC_EXPORT_INTERVAL (a timer that does not
 * keep the process alive) and once more at stop. `meter` is read at each export: the metrics
 * plugin may start after this one.
 */
export async function startMetricsExport(
  meter: () => Meter | undefined,
  options: SignalOptions & { readonly startTime: number },
): Promise<StopExport> {
  const { otlpMetricsExporter } = await import("./otlp-metrics.ts");
  const { config } = options;
  const exporter = await otlpMetricsExporter({
    ...options,
    compression: config.OTEL_EXPORTER_OTLP_COMPRESSION,
    timeoutMs: config.OTEL_EXPORTER_OTLP_TIMEOUT,
  });
  let running: Promise<void> | undefined;
  const exportOnce = (signal: AbortSignal): Promise<void> => {
    running ??= (async () => {
      try {
        const snapshot = await meter()?.snapshot?.();
        if (snapshot) await exporter.export(snapshot, signal);
      } catch (error) {
        options.onProblem({ kind: "export-failed", error, spans: 1 });
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(
    () => void exportOnce(AbortSignal.timeout(config.OTEL_METRIC_EXPORT_TIMEOUT)),
    config.OTEL_METRIC_EXPORT_INTERVAL,
  );
  (timer as { unref?: () => void }).unref?.();
  return async function stopMetricsExport(timeoutMs) {
    clearInterval(timer);
    const signal = AbortSignal.timeout(timeoutMs);
    await running;
    await exportOnce(signal);
  };
}

/**
 * Exports every log line over OTLP: the kernel logger hands each written line to a bounded batch
 * (lines past OTEL_BLRP_MAX_QUEUE_SIZE are dropped and counted), exported every
 * OTEL_BLRP_SCHEDULE_DELAY and flushed at stop. Without the logger's `tap` seam nothing is exported.
 */
export async function startLogsExport(logs: LogContext, options: SignalOptions): Promise<StopExport> {
  const { otlpLogsExporter } = await import("./otlp-logs.ts");
  const { config } = options;
  const exporter = await otlpLogsExporter({
    ...options,
    compression: config.OTEL_EXPORTER_OTLP_COMPRESSION,
    timeoutMs: config.OTEL_EXPORTER_OTLP_TIMEOUT,
  });
  const processor = new BatchSpanProcessor(exporter, {
    maxQueueSize: config.OTEL_BLRP_MAX_QUEUE_SIZE,
    maxExportBatchSize: Math.min(config.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, config.OTEL_BLRP_MAX_QUEUE_SIZE),
    scheduleDelayMs: config.OTEL_BLRP_SCHEDULE_DELAY,
    exportTimeoutMs: config.OTEL_BLRP_EXPORT_TIMEOUT,
    onProblem: options.onProblem,
  });
  const untap = logs.tap?.((line, level) => processor.onEnd({ line, level, observed: Date.now() }));
  return async function stopLogsExport(timeoutMs) {
    untap?.();
    await processor.shutdown(timeoutMs);
  };
}
