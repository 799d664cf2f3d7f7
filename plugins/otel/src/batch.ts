import type { SpanData } from "./span.ts";

/** Sends finished spans (or, for logs, other records) somewhere. `export` rejects when the batch was not delivered. */
export interface SpanExporter<T = SpanData> {
  export(spans: readonly T[], signal: AbortSignal): Promise<void>;
  shutdown?(): Promise<void>;
}

/** OTEL_BSP_* settings (OTEL_BLRP_* for log records). */
export interface BatchOptions {
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduleDelayMs: number;
  readonly exportTimeoutMs: number;
  /** Told about failed exports and dropped spans; must not throw. */
  readonly onProblem: (
    problem: { kind: "export-failed"; error: unknown; spans: number } | { kind: "dropped"; spans: number },
  ) => void;
}

/**
 * The batch span processor of the OpenTelemetry specification: ended spans wait in a bounded
 * queue (spans beyond it are dropped and counted, never buffered without bound) and go to the
 * exporter in batches, one export at a time, every `scheduleDelayMs` or as soon as a full batch
 * is waiting. `flush` exports everything queued, for shutdown.
 */
export class BatchSpanProcessor<T = SpanData> {
  readonly #exporter: SpanExporter<T>;
  readonly #options: BatchOptions;
  #queue: T[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #dropped = 0;
  #closed = false;

  constructor(exporter: SpanExporter<T>, options: BatchOptions) {
    this.#exporter = exporter;
    this.#options = options;
  }

  /** Spans waiting for export. */
  get queued(): number {
    return this.#queue.length;
  }

  onEnd(span: T): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#options.maxQueueSize) {
      this.#dropped++;
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= this.#options.maxExportBatchSize) this.#kick();
    else this.#schedule();
  }

  /** Exports everything queued now; resolves when done or when `signal` aborts (what is left is dropped). */
  async flush(signal: AbortSignal): Promise<void> {
    this.#clearTimer();
    while (!signal.aborted) {
      if (this.#running) {
        await Promise.race([this.#running, aborted(signal)]);
        continue;
      }
      if (this.#queue.length === 0) break;
      await Promise.race([this.#run(signal), aborted(signal)]);
    }
    this.#reportDropped();
  }

  /** Flushes under `timeoutMs`, then shuts the exporter down; later spans are ignored. */
  async shutdown(timeoutMs: number): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await this.flush(signal);
    } finally {
      this.#closed = true;
      if (this.#queue.length > 0) {
        this.#dropped += this.#queue.length;
        this.#queue = [];
        this.#reportDropped();
      }
      await Promise.race([this.#exporter.shutdown?.(), aborted(signal)]);
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#kick();
    }, this.#options.scheduleDelayMs);
    // The export timer alone must not keep a finished process alive; shutdown flushes what is left.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #kick(): void {
    this.#clearTimer();
    if (this.#running) return;
    void this.#run(AbortSignal.timeout(this.#options.exportTimeoutMs));
  }

  #run(signal: AbortSignal): Promise<void> {
    this.#running = (async () => {
      try {
        while (this.#queue.length > 0 && !signal.aborted) {
          const batch = this.#queue.splice(0, this.#options.maxExportBatchSize);
          await this.#export(batch, signal);
        }
      } finally {
        this.#running = undefined;
        this.#reportDropped();
        if (this.#queue.length > 0 && !this.#closed) this.#schedule();
      }
    })();
    return this.#running;
  }

  async #export(batch: T[], outer: AbortSignal): Promise<void> {
    const signal = AbortSignal.any([outer, AbortSignal.timeout(this.#options.exportTimeoutMs)]);
    try {
      await this.#exporter.export(batch, signal);
    } catch (error) {
      this.#options.onProblem({ kind: "export-failed", error, spans: batch.length });
    }
  }

  #reportDropped(): void {
    if (this.#dropped === 0) return;
    const spans = this.#dropped;
    this.#dropped = 0;
    this.#options.onProblem({ kind: "dropped", spans });
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
