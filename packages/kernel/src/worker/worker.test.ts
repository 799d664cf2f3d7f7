import { describe, expect, test } from "bun:test";
import { pluginContract, testApp } from "@twelvefold/testing";
import * as v from "valibot";
import { Queue } from "../contracts/queue.ts";
import {
  type Gauge,
  type Meter,
  Meter as MeterToken,
  type Span,
  type StartSpanOptions,
  type Tracer,
  Tracer as TracerToken,
} from "../contracts/telemetry.ts";
import { ConfigError, KernelError } from "../errors.ts";
import { noopTracer } from "../instrument.ts";
import { memoryQueue } from "../memory/queue.ts";
import { definePlugin } from "../plugin.ts";
import { override, token } from "../token.ts";
import { defineJob, type JobContext } from "./job.ts";
import { WorkerJobs, worker } from "./worker.ts";

const Greeting = token<string>("test/Greeting");

/** Resolves once `check` holds, polling; the generous bound only stops a hung test. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}

const greetings = (seen: Array<{ who: string; context: JobContext }>) =>
  defineJob({
    topic: "greet",
    payload: v.object({ who: v.pipe(v.string(), v.minLength(1)) }),
    requires: [Greeting],
    run({ who }, context) {
      seen.push({ who, context });
      expect(context.get(Greeting)).toBe("hello");
    },
  });

const withGreeting = definePlugin({
  name: "greeting",
  provides: [Greeting],
  start: ({ provide }) => provide(Greeting, "hello"),
});

pluginContract(() => worker({ jobs: [greetings([])] }), {
  process: "worker",
  plugins: [withGreeting],
  badEnv: { WORKER_CONCURRENCY: "zero" },
});

describe("worker", () => {
  test("consumes each job's topic once ready, checks the payload and hands the job its context", async () => {
    const seen: Array<{ who: string; context: JobContext }> = [];
    const job = greetings(seen);
    await using t = await testApp({ plugins: [withGreeting, worker({ jobs: [job] })], process: "worker" });
    const queue = t.get(Queue);
    expect(t.logs.find((l) => l.message === "worker subscribed")).toMatchObject({ topics: ["greet"] });
    const id = await job.enqueue(queue, { who: "ada" });
    await until(() => seen.length === 1, "the job");
    const { context } = seen[0] as { context: JobContext };
    expect(context.topic).toBe("greet");
    expect(context.message).toMatchObject({ id, attempt: 1, maxAttempts: 5 });
    expect(seen.map((s) => s.who)).toEqual(["ada"]);
    await until(async () => (await queue.stats("greet")).inFlight === 0, "the ack");
  });

  test("a payload that fails the schema is refused at enqueue and never reaches the queue", async () => {
    const queue = memoryQueue();
    const job = greetings([]);
    const error = await job.enqueue(queue, { who: "" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelError);
    expect((error as KernelError).code).toBe("TF_JOB_INVALID_PAYLOAD");
    expect((error as Error).message).toStartWith('worker: job "greet": the payload does not match its schema: who: ');
    expect((await queue.stats("greet")).ready).toBe(0);
    await queue.close();
  });

  test("a delivered payload that fails the schema is not run: it is logged, retried, then dead-lettered", async () => {
    const seen: Array<{ who: string; context: JobContext }> = [];
    await using t = await testApp({ plugins: [withGreeting, worker({ jobs: [greetings(seen)] })], process: "worker" });
    const queue = t.get(Queue);
    await queue.enqueue("greet", { name: 42 }, { maxAttempts: 1 });
    await until(() => t.logs.some((l) => l.message === "job failed: moved to the dead letters"), "the dead letter");
    expect(seen).toEqual([]);
    const [dead] = await queue.deadLetters("greet");
    expect(dead?.error).toStartWith('worker: job "greet": the payload does not match its schema');
  });

  test("a failing job is retried with backoff and logged with its attempt", async () => {
    let calls = 0;
    const flaky = defineJob({
      topic: "flaky",
      payload: v.object({}),
      maxAttempts: 3,
      run() {
        calls++;
        if (calls === 1) throw new Error("model provider timed out");
      },
    });
    const queue = memoryQueue();
    await using t = await testApp({
      plugins: [worker({ jobs: [flaky] })],
      overrides: [override(Queue, queue)],
      process: "worker",
    });
    await flaky.enqueue(queue, {});
    await until(() => calls === 2, "the retry");
    expect(t.logs.find((l) => l.message === "job failed: will retry")).toMatchObject({
      level: "error",
      topic: "flaky",
      attempt: 1,
      max_attempts: 3,
    });
    await queue.close();
  });

  test("the job runs inside a consumer span that continues the trace the producer put in the message", async () => {
    const started: Array<{ name: string; options?: StartSpanOptions }> = [];
    const tracer: Tracer = {
      ...noopTracer,
      startSpan(name, options) {
        started.push({ name, options });
        return noopTracer.startSpan(name, options);
      },
      withSpan: (_span: Span, fn) => fn(),
      inject(carrier) {
        (carrier as Record<string, string>).traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      },
    };
    let traced: string | undefined;
    const job = defineJob({
      topic: "title",
      payload: v.object({ sessionId: v.string() }),
      run(_payload, { message }) {
        traced = message.headers.traceparent;
      },
    });
    await using t = await testApp({
      plugins: [worker({ jobs: [job] })],
      overrides: [override(TracerToken, tracer)],
      process: "worker",
    });
    await job.enqueue(t.get(Queue), { sessionId: "s-1" }, { tracer });
    await until(() => traced !== undefined, "the job");
    expect(started.map((s) => [s.name, s.options?.kind])).toEqual([
      ["send title", "producer"],
      ["process title", "consumer"],
    ]);
    expect(started[1]?.options?.carrier).toMatchObject({ traceparent: traced });
  });

  test("WORKER_CONCURRENCY bounds the jobs of a topic in hand at once", async () => {
    let inHand = 0;
    let most = 0;
    let done = 0;
    const slow = defineJob({
      topic: "slow",
      payload: v.number(),
      async run() {
        most = Math.max(most, ++inHand);
        await Bun.sleep(10);
        inHand--;
        done++;
      },
    });
    await using t = await testApp({ plugins: [worker({ jobs: [slow], WORKER_CONCURRENCY: 2 })], process: "worker" });
    for (let i = 0; i < 6; i++) await slow.enqueue(t.get(Queue), i);
    await until(() => done === 6, "six jobs");
    expect(most).toBe(2);
  });

  test("on drain it finishes the job in hand, takes no new one, and stops cleanly", async () => {
    const { promise: hold, resolve: release } = Promise.withResolvers<void>();
    const ran: number[] = [];
    const long = defineJob({
      topic: "long",
      payload: v.number(),
      async run(n) {
        ran.push(n);
        if (n === 1) await hold;
      },
    });
    const queue = memoryQueue();
    const t = await testApp({
      plugins: [worker({ jobs: [long] })],
      overrides: [override(Queue, queue)],
      process: "worker",
    });
    await long.enqueue(queue, 1);
    await until(() => ran.length === 1, "the first job");
    const stopping = t.stop();
    await until(() => t.logs.some((l) => l.message === "worker draining: taking no new job"), "the drain");
    await long.enqueue(queue, 2);
    release();
    await stopping;
    expect(ran).toEqual([1]);
    expect(t.logs.some((l) => l.message === "worker drained")).toBe(true);
    expect(t.logs.filter((l) => l.level === "error")).toEqual([]);
    expect((await queue.stats("long")).ready).toBe(1);
    await queue.close();
  });

  test("a job still running at the shutdown deadline is named in the log and left to redelivery", async () => {
    const stuck = defineJob({
      topic: "stuck",
      payload: v.number(),
      run: (_n, { signal }) =>
        new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })),
    });
    const queue = memoryQueue();
    const t = await testApp({
      plugins: [worker({ jobs: [stuck] })],
      overrides: [override(Queue, queue)],
      env: { SHUTDOWN_TIMEOUT_MS: "50" },
      process: "worker",
    });
    const id = await stuck.enqueue(queue, 7);
    await until(() => t.logs.some((l) => l.message === "plugin started"), "the start");
    await until(async () => (await queue.stats("stuck")).inFlight === 1, "the delivery");
    await t.stop().catch(() => {});
    expect(
      t.logs.find((l) => l.message === "job still running at the shutdown deadline: left to redelivery"),
    ).toMatchObject({ topic: "stuck", message_id: id, attempt: 1 });
    await queue.close();
  });

  test("WORKER_TOPICS narrows the topics; one no job consumes is a config error", async () => {
    const seen: string[] = [];
    const make = (topic: string) =>
      defineJob({ topic, payload: v.string(), run: (s) => void seen.push(`${topic}:${s}`) });
    const [a, b] = [make("a"), make("b")];
    await using t = await testApp({
      plugins: [worker({ jobs: [a, b] })],
      env: { WORKER_TOPICS: "b" },
      process: "worker",
    });
    await a.enqueue(t.get(Queue), "1");
    await b.enqueue(t.get(Queue), "2");
    await until(() => seen.length === 1, "job b");
    expect(seen).toEqual(["b:2"]);

    const wrong = await testApp({
      plugins: [worker({ jobs: [a, b] })],
      env: { WORKER_TOPICS: "c" },
      process: "worker",
      start: false,
    });
    const error = await wrong.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({ name: "WORKER_TOPICS", received: '"c"' });
  });

  test("plugins add jobs through WorkerJobs during start; a duplicate topic or a late add is refused", async () => {
    const seen: string[] = [];
    let late: (() => void) | undefined;
    const runs = defineJob({ topic: "agent.run", payload: v.string(), run: (s) => void seen.push(s) });
    const agent = definePlugin({
      name: "agent",
      optional: [WorkerJobs],
      start({ find }) {
        const jobs = find(WorkerJobs);
        jobs?.add(runs);
        expect(() => jobs?.add(runs)).toThrow('worker: two jobs consume "agent.run": a topic has one job');
        late = () => jobs?.add(defineJob({ topic: "later", payload: v.string(), run() {} }));
      },
    });
    await using t = await testApp({ plugins: [worker(), agent], process: "worker" });
    expect(t.get(WorkerJobs).topics).toEqual(["agent.run"]);
    await runs.enqueue(t.get(Queue), "r-1");
    await until(() => seen.length === 1, "the agent's job");
    expect(late).toThrow('worker: cannot add job "later" after the worker subscribed: add it during start');
  });

  test("outcomes, durations and jobs in hand are recorded through the Meter", async () => {
    const counted: Array<Record<string, unknown> | undefined> = [];
    const gauges: Array<(gauge: Gauge) => void | Promise<void>> = [];
    const meter: Meter = {
      counter: () => ({ inc: (labels?: Record<string, unknown>) => void counted.push(labels) }),
      gauge: (o) => {
        if (o.collect) gauges.push(o.collect);
        return { set() {}, inc() {}, dec() {} };
      },
      histogram: () => ({ observe() {} }),
    };
    let calls = 0;
    const job = defineJob({
      topic: "count",
      payload: v.number(),
      maxAttempts: 1,
      run(n) {
        calls++;
        if (n === 2) throw new Error("two is not allowed");
      },
    });
    await using t = await testApp({
      plugins: [worker({ jobs: [job] })],
      overrides: [override(MeterToken, meter)],
      process: "worker",
    });
    await job.enqueue(t.get(Queue), 1);
    await job.enqueue(t.get(Queue), 2);
    await until(() => counted.length === 2, "two outcomes");
    expect(counted).toEqual([
      { topic: "count", outcome: "ack" },
      { topic: "count", outcome: "dead" },
    ]);
    const readings: number[] = [];
    for (const collect of gauges) await collect({ set: (_l, value) => void readings.push(value), inc() {}, dec() {} });
    expect(readings).toEqual([0]);
    expect(calls).toBe(2);
  });

  test("the worker runs only in the worker process; web does not start it", async () => {
    await using t = await testApp({ plugins: [worker({ jobs: [greetings([])] })], process: "web" });
    expect(t.logs.some((l) => l.message === "worker subscribed")).toBe(false);
    expect(() => t.get(WorkerJobs)).toThrow();
  });
});

describe("defineJob", () => {
  test("refuses a bad topic, schema, attempts, concurrency or run, naming the topic", () => {
    const payload = v.string();
    const run = () => {};
    expect(() => defineJob({ topic: "two words", payload, run })).toThrow(
      'worker: job "two words": invalid topic: use letters, digits and . _ : -',
    );
    expect(() => defineJob({ topic: "t", payload: {} as typeof payload, run })).toThrow(
      'worker: job "t": payload must be a valibot schema',
    );
    expect(() => defineJob({ topic: "t", payload: v.pipeAsync(v.string()) as never, run })).toThrow(
      'worker: job "t": payload must be a synchronous schema',
    );
    expect(() => defineJob({ topic: "t", payload, maxAttempts: 0, run })).toThrow(
      "maxAttempts must be a positive integer",
    );
    expect(() => defineJob({ topic: "t", payload, concurrency: 1.5, run })).toThrow(
      "concurrency must be a positive integer",
    );
    expect(() => defineJob({ topic: "t", payload } as never)).toThrow('worker: job "t": run must be a function');
  });
});
