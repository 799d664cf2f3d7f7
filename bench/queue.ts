/**
 * The redis plugin's Queue against BullMQ on the same Redis, side by side in one run: enqueue
 * and process JOBS jobs at CONCURRENCY (one producer and one consumer in this process, at most
 * 100 enqueues in flight), alternating which goes first each round. Prints jobs/s (first enqueue
 * to last job handled) and the end-to-end latency (enqueue to handler) at p50 and p99 under that
 * flood, then the same latencies for PACED_JOBS jobs enqueued at a steady 1 000/s, which both
 * keep up with. Budget: Twelvefold's jobs/s at least 1.0x BullMQ's (best round each).
 *
 * `bun bench/queue.ts`. Environment: REDIS_URL (redis://127.0.0.1:6379; every run writes under a
 * prefix of its own and removes it), ROUNDS (3), JOBS (20000), CONCURRENCY (10), PACED_JOBS (2000).
 * BullMQ runs on ioredis, its own driver, with removeOnComplete so neither keeps finished jobs.
 */
import { Queue as BullQueue, Worker as BullWorker } from "bullmq";
import IORedis from "ioredis";
import { connectRedis, redisQueue } from "../plugins/redis/mod.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const JOBS = Number(process.env.JOBS ?? 20_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);
const PACED_JOBS = Number(process.env.PACED_JOBS ?? 2_000);
const IN_FLIGHT = 100;

/** What one system has to offer the bench: enqueue, a consumer, and a clean-up. */
interface System {
  enqueue(payload: { t: number }): Promise<unknown>;
  consume(handle: (payload: { t: number }) => void): Promise<void>;
  close(): Promise<void>;
}

async function twelvefold(): Promise<System> {
  const prefix = `bench-q:${crypto.randomUUID().slice(0, 8)}:`;
  const connection = await connectRedis({ url: REDIS_URL, prefix });
  const queue = redisQueue(connection);
  return {
    enqueue: (payload) => queue.enqueue("bench", payload),
    async consume(handle) {
      queue.consume("bench", async (message) => handle(message.payload as { t: number }), {
        concurrency: CONCURRENCY,
      });
    },
    async close() {
      await queue.close();
      let cursor = "0";
      do {
        const [next, keys] = await connection.send<[string, string[]]>(
          ["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "1000"],
          "bench cleanup",
        );
        if (keys.length > 0) await connection.send(["UNLINK", ...keys], "bench cleanup");
        cursor = next;
      } while (cursor !== "0");
      await connection.close();
    },
  };
}

async function bullmq(): Promise<System> {
  const prefix = `bench-bull-${crypto.randomUUID().slice(0, 8)}`;
  const producer = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const consumer = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new BullQueue("bench", { connection: producer, prefix });
  let worker: BullWorker | undefined;
  return {
    enqueue: (payload) => queue.add("job", payload, { removeOnComplete: true, removeOnFail: true }),
    async consume(handle) {
      worker = new BullWorker("bench", async (job) => handle(job.data as { t: number }), {
        connection: consumer,
        prefix,
        concurrency: CONCURRENCY,
      });
      await worker.waitUntilReady();
    },
    async close() {
      await worker?.close();
      await queue.obliterate({ force: true });
      await queue.close();
      producer.disconnect();
      consumer.disconnect();
    },
  };
}

const systems = { twelvefold, bullmq } as const;
type Name = keyof typeof systems;

interface Figures {
  readonly jobsPerSecond: number;
  readonly floodP50: number;
  readonly floodP99: number;
  readonly pacedP50: number;
  readonly pacedP99: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

/** Enqueues `count` jobs, `inFlight` at a time, or paced at `perSecond` when given. */
async function produce(system: System, count: number, options: { perSecond?: number } = {}): Promise<void> {
  if (options.perSecond) {
    const batch = Math.max(1, Math.round(options.perSecond / 100));
    const began = performance.now();
    for (let sent = 0; sent < count; sent += batch) {
      const due = began + (sent / options.perSecond) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      await Promise.all(Array.from({ length: Math.min(batch, count - sent) }, () => system.enqueue({ t: Date.now() })));
    }
    return;
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        next++;
        await system.enqueue({ t: Date.now() });
      }
    }),
  );
}

async function measure(name: Name): Promise<Figures> {
  const system = await systems[name]();
  try {
    let latencies: number[] = [];
    let done: () => void = () => {};
    let target = JOBS;
    let finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await system.consume((payload) => {
      latencies.push(Date.now() - payload.t);
      if (latencies.length === target) done();
    });
    const began = performance.now();
    await produce(system, JOBS);
    await finished;
    const seconds = (performance.now() - began) / 1000;
    const flood = [...latencies].sort((a, b) => a - b);

    latencies = [];
    target = PACED_JOBS;
    finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await produce(system, PACED_JOBS, { perSecond: 1_000 });
    await finished;
    const paced = [...latencies].sort((a, b) => a - b);
    return {
      jobsPerSecond: JOBS / seconds,
      floodP50: percentile(flood, 50),
      floodP99: percentile(flood, 99),
      pacedP50: percentile(paced, 50),
      pacedP99: percentile(paced, 99),
    };
  } finally {
    await system.close();
  }
}

const guard = setTimeout(() => {
  process.stderr.write("bench: gave up after 600 s\n");
  process.exit(2);
}, 600_000);

const results: Record<Name, Figures[]> = { twelvefold: [], bullmq: [] };
for (let round = 0; round < ROUNDS; round++) {
  const order: Name[] = round % 2 === 0 ? ["twelvefold", "bullmq"] : ["bullmq", "twelvefold"];
  for (const name of order) {
    const figures = await measure(name);
    results[name].push(figures);
    console.log(
      `round ${round + 1} ${name.padEnd(10)} ${Math.round(figures.jobsPerSecond).toString().padStart(6)} jobs/s` +
        `  flood p50 ${figures.floodP50} ms p99 ${figures.floodP99} ms` +
        `  paced p50 ${figures.pacedP50} ms p99 ${figures.pacedP99} ms`,
    );
  }
}
clearTimeout(guard);

const best = (name: Name) => results[name].reduce((a, b) => (b.jobsPerSecond > a.jobsPerSecond ? b : a));
const median = (name: Name, key: keyof Figures) => {
  const values = results[name].map((f) => f[key]).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] as number;
};
const ratio = best("twelvefold").jobsPerSecond / best("bullmq").jobsPerSecond;
console.log("");
console.log(`${JOBS} jobs at concurrency ${CONCURRENCY}, ${ROUNDS} rounds, Redis at ${new URL(REDIS_URL).host}`);
for (const name of ["twelvefold", "bullmq"] as const) {
  console.log(
    `${name.padEnd(10)} best ${Math.round(best(name).jobsPerSecond)} jobs/s (median ${Math.round(median(name, "jobsPerSecond"))});` +
      ` median latency under the flood p50 ${median(name, "floodP50")} ms p99 ${median(name, "floodP99")} ms;` +
      ` at 1000/s p50 ${median(name, "pacedP50")} ms p99 ${median(name, "pacedP99")} ms`,
  );
}
console.log(`twelvefold / bullmq jobs/s: ${ratio.toFixed(2)}x (budget >= 1.00x): ${ratio >= 1 ? "ok" : "OVER BUDGET"}`);
process.exit(ratio >= 1 ? 0 : 1);
