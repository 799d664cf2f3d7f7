import { describe, expect, test } from "bun:test";
import { type BatchOptions, BatchSpanProcessor, type SpanExporter } from "./batch.ts";
import type { SpanData } from "./span.ts";

const span = (name: string) => ({ name }) as SpanData;

function setup(exporter: SpanExporter, options: Partial<BatchOptions> = {}) {
  const problems: Parameters<BatchOptions["onProblem"]>[0][] = [];
  const processor = new BatchSpanProcessor(exporter, {
    maxQueueSize: 10,
    maxExportBatchSize: 4,
    scheduleDelayMs: 60_000,
    exportTimeoutMs: 1_000,
    onProblem: (p) => problems.push(p),
    ...options,
  });
  return { processor, problems };
}

describe("BatchSpanProcessor", () => {
  test("a full batch is exported at once; flush sends the rest in batches", async () => {
    const batches: string[][] = [];
    const { processor } = setup({ export: async (spans) => void batches.push(spans.map((s) => s.name)) });
    for (let i = 0; i < 6; i++) processor.onEnd(span(`s${i}`));
    await processor.flush(AbortSignal.timeout(1_000));
    expect(batches).toEqual([
      ["s0", "s1", "s2", "s3"],
      ["s4", "s5"],
    ]);
    expect(processor.queued).toBe(0);
  });

  test("spans beyond the queue bound are dropped and reported, never buffered", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const exported: number[] = [];
    const { processor, problems } = setup({
      export: async (spans) => {
        await gate;
        exported.push(spans.length);
      },
    });
    for (let i = 0; i < 100; i++) processor.onEnd(span(`s${i}`));
    expect(processor.queued).toBeLessThanOrEqual(10);
    release();
    await processor.flush(AbortSignal.timeout(1_000));
    const dropped = problems.filter((p) => p.kind === "dropped").reduce((n, p) => n + p.spans, 0);
    expect(exported.reduce((a, b) => a + b, 0) + dropped).toBe(100);
    expect(dropped).toBeGreaterThanOrEqual(86);
  });

  test("a failing exporter is reported, not thrown, and the processor keeps working", async () => {
    let fail = true;
    const received: string[] = [];
    const { processor, problems } = setup({
      export: async (spans) => {
        if (fail) throw new Error("collector down");
        received.push(...spans.map((s) => s.name));
      },
    });
    processor.onEnd(span("lost"));
    await processor.flush(AbortSignal.timeout(1_000));
    fail = false;
    processor.onEnd(span("kept"));
    await processor.flush(AbortSignal.timeout(1_000));
    expect(problems[0]).toMatchObject({ kind: "export-failed", spans: 1 });
    expect(received).toEqual(["kept"]);
  });

  test("the scheduled export sends a partial batch without a flush", async () => {
    const received: string[] = [];
    const { processor } = setup(
      { export: async (spans) => void received.push(...spans.map((s) => s.name)) },
      { scheduleDelayMs: 1 },
    );
    processor.onEnd(span("alone"));
    // No flush: only the 1 ms schedule can deliver it. Wait for it, within a generous bound.
    for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toEqual(["alone"]);
  });

  test("shutdown gives up at its deadline, drops what is left, and ignores later spans", async () => {
    let shutdowns = 0;
    const { processor, problems } = setup({
      export: (_spans, signal) =>
        new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
      shutdown: async () => void shutdowns++,
    });
    for (let i = 0; i < 6; i++) processor.onEnd(span(`s${i}`));
    await processor.shutdown(20);
    processor.onEnd(span("late"));
    expect(processor.queued).toBe(0);
    expect(shutdowns).toBe(1);
    expect(problems.some((p) => p.kind === "dropped" || p.kind === "export-failed")).toBe(true);
  });
});
