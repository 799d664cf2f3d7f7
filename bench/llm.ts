/**
 * What the llm plugin's provider adds to a model call, side by side in one run against the kit's
 * fault server in its well-behaved mode (a 64-token streamed answer on loopback, the server in
 * a process of its own): a raw `fetch` with a hand-written SSE parse, the `openai`-package
 * adapter alone (`openaiModel`), and the adapter inside the whole resilience policy
 * (`resilientModel`: watchdog, breaker, concurrency cap, instruments). Each is timed for the
 * time to the first chunk and for the whole streamed completion, and also for a non-streamed
 * completion; p50 and p99 of each, and what the provider adds over raw at p50 (budget: 1 ms).
 *
 * `bun bench/llm.ts`. Environment: N (2000 calls per variant), WARMUP (200).
 */
import type { ChatModel } from "../packages/kernel/mod.ts";
import { ConcurrencyLimit, openaiModel, resilientModel } from "../plugins/llm/mod.ts";

const N = Number(process.env.N ?? 2000);
const WARMUP = Number(process.env.WARMUP ?? 200);

const child = Bun.spawn(["bun", `${import.meta.dir}/fixtures/fault-server.ts`], { stdin: "pipe", stdout: "pipe" });
const reader = child.stdout.getReader();
const first = await reader.read();
const baseURL = new TextDecoder().decode(first.value).trim();
reader.releaseLock();

const messages = [{ role: "user" as const, content: "Tell me sixty-four words." }];
const body = JSON.stringify({ model: "bench-1", messages, stream: true, stream_options: { include_usage: true } });
const plainBody = JSON.stringify({ model: "bench-1", messages });

interface Timing {
  readonly ttfc: number;
  readonly total: number;
}

/** A raw fetch and the least SSE parse that still yields every text delta: the floor. */
async function raw(): Promise<Timing> {
  const began = performance.now();
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer x" },
    body,
  });
  const decoder = new TextDecoder();
  const reading = (response.body as ReadableStream<Uint8Array>).getReader();
  let buffer = "";
  let ttfc = 0;
  let text = "";
  for (;;) {
    const { value, done } = await reading.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf("\n\n");
      const data = event.slice(6);
      if (data === "[DONE]") continue;
      const delta = (JSON.parse(data) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta
        ?.content;
      if (delta) {
        if (!ttfc) ttfc = performance.now() - began;
        text += delta;
      }
    }
  }
  if (!text) throw new Error("bench: raw read no text");
  return { ttfc, total: performance.now() - began };
}

async function rawComplete(): Promise<number> {
  const began = performance.now();
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer x" },
    body: plainBody,
  });
  const parsed = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  if (!parsed.choices[0]?.message.content) throw new Error("bench: raw completion empty");
  return performance.now() - began;
}

const adapter = openaiModel({ model: "bench-1", baseURL, apiKey: "x" });
await adapter.warm();
const full = resilientModel(openaiModel({ model: "bench-1", baseURL, apiKey: "x" }), {
  limit: new ConcurrencyLimit(16, 10_000),
});

function streamed(model: ChatModel): () => Promise<Timing> {
  return async () => {
    const began = performance.now();
    let ttfc = 0;
    for await (const chunk of model.stream({ messages })) {
      if (chunk.type === "text" && !ttfc) ttfc = performance.now() - began;
    }
    return { ttfc, total: performance.now() - began };
  };
}

function completed(model: ChatModel): () => Promise<number> {
  return async () => {
    const began = performance.now();
    await model.complete({ messages });
    return performance.now() - began;
  };
}

const variants = {
  raw: { stream: raw, complete: rawComplete },
  adapter: { stream: streamed(adapter), complete: completed(adapter) },
  full: { stream: streamed(full), complete: completed(full) },
} as const;
type Variant = keyof typeof variants;
const names = Object.keys(variants) as Variant[];
const figures = Object.fromEntries(
  names.map((n) => [n, { ttfc: [] as number[], total: [] as number[], complete: [] as number[] }]),
);

// Interleaved: each round runs every variant once, in an order that rotates, so the machine's
// moods fall on all of them alike.
for (let i = 0; i < WARMUP + N; i++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(i + k) % names.length] as Variant;
    const variant = variants[name];
    const timing = await variant.stream();
    const complete = await variant.complete();
    if (i >= WARMUP) {
      figures[name]?.ttfc.push(timing.ttfc);
      figures[name]?.total.push(timing.total);
      figures[name]?.complete.push(complete);
    }
  }
}
child.stdin.end();

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const ms = (x: number) => `${x.toFixed(3)} ms`;
const signed = (x: number) => `${x < 0 ? "-" : "+"}${ms(Math.abs(x))}`;
console.log(`llm bench: ${N} calls per variant after ${WARMUP} warm-up, 64-token streamed answer on loopback\n`);
console.log("variant   measure            p50          p99");
for (const name of names) {
  const f = figures[name] as { ttfc: number[]; total: number[]; complete: number[] };
  for (const [label, values] of [
    ["first chunk", f.ttfc],
    ["stream total", f.total],
    ["completion", f.complete],
  ] as const) {
    console.log(
      `${name.padEnd(9)} ${label.padEnd(14)} ${ms(quantile(values, 0.5)).padStart(12)} ${ms(quantile(values, 0.99)).padStart(12)}`,
    );
  }
}
console.log("\nadded over raw fetch + SSE parse (budget: at most 1 ms at p50)");
let over = false;
for (const name of ["adapter", "full"] as const) {
  for (const measure of ["ttfc", "total", "complete"] as const) {
    const base = figures.raw?.[measure] as number[];
    const mine = figures[name]?.[measure] as number[];
    const p50 = quantile(mine, 0.5) - quantile(base, 0.5);
    const p99 = quantile(mine, 0.99) - quantile(base, 0.99);
    if (name === "full" && p50 > 1) over = true;
    console.log(`${name.padEnd(9)} ${measure.padEnd(9)} p50 ${signed(p50)}   p99 ${signed(p99)}`);
  }
}
console.log(over ? "\nOVER BUDGET: the provider adds more than 1 ms at p50" : "\nwithin budget");
process.exit(over ? 1 : 0);
