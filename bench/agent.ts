/**
 * What a durable run costs a token stream. Time to first token (the first `text` event a client
 * receives) for a run that goes through everything a deployed app has: POST to a web process,
 * the Queue (Redis Streams), a worker process running the agent loop on the local model, the
 * EventLog (Redis Streams, XREAD BLOCK) and the SSE stream back; against the same agent loop on
 * the same local model called in-process (`runAgent`), and the model's own stream. Runs one at a
 * time; p50 and p99 of each, and what the durable path adds at p50 (budget: 5 ms).
 *
 * Then runs per second with CLIENTS concurrent clients, each starting a run and reading its
 * SSE stream to the end, for SECONDS, through the same processes.
 *
 * `bun bench/agent.ts`. Environment: REDIS_URL (redis://127.0.0.1:6379; a prefix of its own,
 * removed afterwards), N (300 runs per variant), WARMUP (30), CLIENTS (50), SECONDS (10).
 * Web, worker, Redis and this client share the machine's cores: the figures are for the whole box.
 */
import type { Subprocess } from "bun";
import { localModel, runAgent } from "../plugins/llm/mod.ts";
import { connectRedis } from "../plugins/redis/mod.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const N = Number(process.env.N ?? 300);
const WARMUP = Number(process.env.WARMUP ?? 30);
const CLIENTS = Number(process.env.CLIENTS ?? 50);
const SECONDS = Number(process.env.SECONDS ?? 10);
const TEXT = "Tell me about the weather in Paris";
const prefix = `bench-agent:${crypto.randomUUID().slice(0, 8)}:`;

/** Starts one process of the bench app and resolves once it is ready (with its port, for web). */
async function spawn(role: "web" | "worker"): Promise<{ child: Subprocess; port: number }> {
  const child = Bun.spawn(["bun", `${import.meta.dir}/fixtures/agent-app.ts`, role], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ENVIRONMENT: "testing",
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
      PORT: "0",
      HOST: "127.0.0.1",
      HTTP_ACCESS_LOG: "false",
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      SECRET_KEY: "bench-secret-bench-secret-bench-secret",
      AGENT_MAX_RUNS_PER_USER: "0",
      WORKER_CONCURRENCY: String(Math.max(4, CLIENTS)),
      LLM_MAX_CONCURRENCY: String(Math.max(16, CLIENTS)),
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  const decoder = new TextDecoder();
  let rest = "";
  let port = 0;
  for await (const chunk of child.stdout as ReadableStream<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    for (const text of lines) {
      const line = JSON.parse(text) as { message?: string; port?: number };
      if (line.message === "listening") port = line.port ?? 0;
      if (line.message === "app ready") {
        // Keep draining its output so the pipe never fills.
        void (async () => {
          for await (const _ of child.stdout as ReadableStream<Uint8Array>) {
          }
        })().catch(() => {});
        return { child, port };
      }
    }
  }
  throw new Error(`bench: the ${role} process ended before it was ready`);
}

/** Starts a run over HTTP and reads its SSE stream: time to the first text event, and to the end. */
async function durable(port: number): Promise<{ ttft: number; total: number }> {
  const began = performance.now();
  const response = await fetch(`http://127.0.0.1:${port}/runs`, {
    method: "POST",
    headers: { accept: "text/event-stream", "content-type": "application/json" },
    body: JSON.stringify({ text: TEXT }),
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let ttft = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    if (!ttft && buffer.includes('"type":"text"')) ttft = performance.now() - began;
    if (buffer.includes('"type":"done"')) break;
  }
  await reader.cancel().catch(() => {});
  if (!ttft) throw new Error("bench: the durable run streamed no text");
  return { ttft, total: performance.now() - began };
}

const model = localModel();
const messages = [{ role: "user" as const, content: TEXT }];

/** The same agent loop on the same local model, in this process. */
async function inProcess(): Promise<{ ttft: number; total: number }> {
  const began = performance.now();
  let ttft = 0;
  for await (const event of runAgent({ model, messages })) {
    if (!ttft && event.type === "text") ttft = performance.now() - began;
  }
  return { ttft, total: performance.now() - began };
}

/** The local model's own stream: the floor. */
async function modelOnly(): Promise<{ ttft: number; total: number }> {
  const began = performance.now();
  let ttft = 0;
  for await (const chunk of model.stream({ messages })) {
    if (!ttft && chunk.type === "text") ttft = performance.now() - began;
  }
  return { ttft, total: performance.now() - began };
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function measure(name: string, run: () => Promise<{ ttft: number; total: number }>) {
  for (let i = 0; i < WARMUP; i++) await run();
  const ttft: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < N; i++) {
    const timing = await run();
    ttft.push(timing.ttft);
    total.push(timing.total);
  }
  return { name, ttft, total };
}

async function cleanup(): Promise<void> {
  const connection = await connectRedis({ url: REDIS_URL, prefix });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await connection.send<[string, string[]]>(
        ["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "1000"],
        "bench cleanup",
      );
      if (keys.length > 0) await connection.send(["UNLINK", ...keys], "bench cleanup");
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await connection.close();
  }
}

const [web, worker] = await Promise.all([spawn("web"), spawn("worker")]);
try {
  const results = [
    await measure("model stream, in-process", modelOnly),
    await measure("runAgent, in-process", inProcess),
    await measure("durable: web, queue, worker, log, SSE on Redis", () => durable(web.port)),
  ];
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  console.log(`time to first token, ${N} runs one at a time (after ${WARMUP} warm-up runs)`);
  console.log(`${"".padEnd(50)} ${"ttft p50".padStart(10)} ${"ttft p99".padStart(10)} ${"run p50".padStart(10)}`);
  for (const { name, ttft, total } of results) {
    console.log(
      `${name.padEnd(50)} ${ms(quantile(ttft, 0.5)).padStart(10)} ${ms(quantile(ttft, 0.99)).padStart(10)} ${ms(quantile(total, 0.5)).padStart(10)}`,
    );
  }
  const [, loop, path] = results as [unknown, { ttft: number[] }, { ttft: number[] }];
  const added50 = quantile(path.ttft, 0.5) - quantile(loop.ttft, 0.5);
  const added99 = quantile(path.ttft, 0.99) - quantile(loop.ttft, 0.99);
  console.log(
    `durable path adds ${ms(added50)} at p50 (budget 5 ms: ${added50 <= 5 ? "met" : "MISSED"}), ${ms(added99)} at p99`,
  );

  // Throughput: CLIENTS clients, each running runs back to back for SECONDS.
  const deadline = performance.now() + SECONDS * 1000;
  let runs = 0;
  let failures = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline) {
        try {
          latencies.push((await durable(web.port)).total);
          runs++;
        } catch {
          failures++;
        }
      }
    }),
  );
  console.log(
    `${CLIENTS} concurrent clients for ${SECONDS} s: ${(runs / SECONDS).toFixed(0)} runs/s, run p50 ${ms(quantile(latencies, 0.5))}, p99 ${ms(quantile(latencies, 0.99))}, ${failures} failed`,
  );
} finally {
  web.child.kill("SIGTERM");
  worker.child.kill("SIGTERM");
  await Promise.all([web.child.exited, worker.child.exited]);
  await cleanup();
}
