/**
 * The worker process type: consumes the app's job topics through the Queue contract, each message
 * inside a span that continues the producer's trace, and drains on SIGTERM.
 */
import * as v from "valibot";
import { type ConfigOptions, defineConfig, env } from "../config.ts";
import { type Consumer, type Delivery, Queue, type QueueMessage } from "../contracts/queue.ts";
import { type Counter, type Histogram, Meter, metricNames, Tracer } from "../contracts/telemetry.ts";
import { ConfigError, kernelErrors } from "../errors.ts";
import { noopTracer, traceMessage } from "../instrument.ts";
import { definePlugin, type Plugin } from "../plugin.ts";
import { type Token, token } from "../token.ts";
import type { Job } from "./job.ts";

/**
 * Lets plugins contribute jobs to the worker without importing it (the agent plugin runs its
 * durable runs this way): list it in `optional` and add jobs during `start`, so that in a process
 * without a worker (web) the plugin only enqueues.
 *
 * @example
 * ```ts
 * definePlugin({
 *   name: "agent",
 *   optional: [WorkerJobs],
 *   start({ find }) {
 *     find(WorkerJobs)?.add(agentRun); // runs only where the worker does
 *   },
 * });
 * ```
 */
export interface WorkerJobs {
  /** Adds a job; during `start` only (the worker subscribes once every plugin has started). */
  add(job: Job): void;
  /** The topics of every job added so far. */
  readonly topics: readonly string[];
}

/** The worker's job registry, provided by {@link worker}. */
export const WorkerJobs = token<WorkerJobs>("twelvefold/WorkerJobs");

/** The worker's settings, keyed by env var name. */
export const workerConfig = defineConfig({
  /** Messages of each topic handled at once by this process, unless the job sets its own. */
  WORKER_CONCURRENCY: v.optional(env.integer({ min: 1, max: 1000 }), "4"),
  /** The topics this process consumes (default: every job's), to scale one kind of job apart. */
  WORKER_TOPICS: v.optional(env.list(), ""),
  /** A delivery's lease, renewed while its job runs; how soon a crashed worker's message is redelivered. */
  WORKER_VISIBILITY_TIMEOUT_MS: v.optional(env.integer({ min: 1000 }), "30000"),
});

/** Options for {@link worker}: the jobs, and settings that win over the environment. */
export interface WorkerOptions extends ConfigOptions<typeof workerConfig> {
  /** The app's jobs; plugins may add more through {@link WorkerJobs}. */
  readonly jobs?: readonly Job[];
}

interface InHand {
  readonly topic: string;
  readonly message: QueueMessage;
  readonly startedAt: number;
}

interface WorkerMetrics {
  readonly jobs: Counter;
  readonly duration: Histogram;
}

const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

function tokensOf(jobs: readonly Job[], pick: (job: Job) => readonly Token<unknown>[]): Token<unknown>[] {
  return [...new Set(jobs.flatMap(pick))];
}

/**
 * The worker plugin (process type `worker`): once every plugin has started it subscribes to the
 * topic of each job (WORKER_TOPICS narrows them), WORKER_CONCURRENCY messages of each at once, and
 * only then is the process ready. Each message's payload is checked against the job's schema, and
 * its handler runs inside a `process {topic}` span continuing the trace the message carries, so a
 * trace spans web, queue and worker. Outcomes go to `queue_jobs_total{topic,outcome}`.
 *
 * On SIGTERM it takes no new message and waits for the jobs in hand up to SHUTDOWN_TIMEOUT_MS;
 * a job still running then is named in the log and left to redelivery (its lease is no longer
 * renewed, so another worker gets the message once WORKER_VISIBILITY_TIMEOUT_MS passes).
 *
 * @example
 * ```ts
 * import { createApp, worker } from "@twelvefold/kernel";
 * await createApp({ name: "agent", plugins: [worker({ jobs: [summarise, purgeRun] })] }).run(); // bun main.ts worker
 * ```
 */
export function worker(options: WorkerOptions = {}): Plugin {
  const { jobs: given = [], ...settings } = options;
  return definePlugin({
    name: "worker",
    processes: ["worker"],
    config: workerConfig,
    options: settings,
    requires: [Queue, ...tokensOf(given, (j) => j.requires)],
    optional: [Tracer, Meter, ...tokensOf(given, (j) => j.optional)],
    provides: [WorkerJobs],
    start({ config, get, find, provide, logger, onReady, onDrain, onStop }) {
      const jobs = new Map<string, Job>();
      let subscribed = false;
      const add = (job: Job) => {
        if (subscribed) throw kernelErrors.create("TF_WORKER_LATE_JOB", { topic: job.topic });
        if (jobs.has(job.topic)) throw kernelErrors.create("TF_WORKER_DUPLICATE_TOPIC", { topic: job.topic });
        jobs.set(job.topic, job);
      };
      for (const job of given) add(job);
      provide(WorkerJobs, {
        add,
        get topics() {
          return [...jobs.keys()];
        },
      });

      const queue = get(Queue);
      const tracer = find(Tracer) ?? noopTracer;
      const meter = find(Meter);
      const metrics: WorkerMetrics | undefined = meter && {
        jobs: meter.counter({
          name: metricNames.queueJobs,
          help: "Queue messages handled, by topic and outcome (ack, retry, dead).",
          labelNames: ["topic", "outcome"],
        }),
        duration: meter.histogram({
          name: "worker_job_duration_seconds",
          help: "Time a worker job took, by topic and outcome, in seconds.",
          labelNames: ["topic", "outcome"],
          buckets: DURATION_BUCKETS,
        }),
      };
      const inHand = new Map<string, InHand>();
      if (meter) {
        meter.gauge({
          name: "worker_jobs_in_flight",
          help: "Jobs being handled by this worker process, by topic.",
          labelNames: ["topic"],
          collect: (gauge) => {
            for (const topic of jobs.keys()) gauge.set({ topic }, 0);
            for (const { topic } of inHand.values()) gauge.inc({ topic });
          },
        });
      }
      const consumers: Consumer[] = [];

      const handle = (job: Job) =>
        async function handleJob(message: QueueMessage, signal: AbortSignal, delivery: Delivery) {
          const began = performance.now();
          const key = `${message.topic}:${message.id}`;
          inHand.set(key, { topic: job.topic, message, startedAt: began });
          const fields = { topic: job.topic, message_id: message.id, attempt: message.attempt };
          const jobLogger = logger.child(fields);
          let outcome = "ack";
          try {
            await traceMessage(tracer, message, async (span) => {
              const payload = job.parse(message.payload);
              await job.run(payload, {
                topic: job.topic,
                message,
                signal,
                logger: jobLogger,
                span,
                delivery,
                get,
                find,
              });
            });
            jobLogger.debug("job done", { duration_ms: Math.round(performance.now() - began) });
          } catch (error) {
            outcome = message.attempt >= message.maxAttempts ? "dead" : "retry";
            const line = outcome === "dead" ? "job failed: moved to the dead letters" : "job failed: will retry";
            jobLogger[signal.aborted ? "warn" : "error"](line, {
              error,
              max_attempts: message.maxAttempts,
              duration_ms: Math.round(performance.now() - began),
            });
            throw error;
          } finally {
            inHand.delete(key);
            metrics?.jobs.inc({ topic: job.topic, outcome });
            metrics?.duration.observe({ topic: job.topic, outcome }, (performance.now() - began) / 1000);
          }
        };

      onReady(() => {
        const wanted = config.WORKER_TOPICS;
        const unknown = wanted.filter((t) => !jobs.has(t));
        if (unknown.length > 0) {
          throw new ConfigError([
            {
              plugin: "worker",
              name: "WORKER_TOPICS",
              expected: `topics of the app's jobs (${[...jobs.keys()].join(", ") || "none"})`,
              received: JSON.stringify(unknown.join(",")),
              source: "config",
            },
          ]);
        }
        const topics = wanted.length > 0 ? wanted : [...jobs.keys()];
        if (topics.length === 0) logger.warn("worker has no jobs: it consumes nothing");
        for (const topic of topics) {
          const job = jobs.get(topic) as Job;
          consumers.push(
            queue.consume(topic, handle(job), {
              concurrency: job.concurrency ?? config.WORKER_CONCURRENCY,
              visibilityTimeoutMs: config.WORKER_VISIBILITY_TIMEOUT_MS,
            }),
          );
        }
        subscribed = true;
        logger.info("worker subscribed", { topics, concurrency: config.WORKER_CONCURRENCY });
      });

      onDrain(async (deadline) => {
        logger.info("worker draining: taking no new job", { in_hand: inHand.size });
        await Promise.all(consumers.map((consumer) => consumer.stop({ signal: deadline })));
        if (!deadline.aborted) {
          logger.info("worker drained");
          return;
        }
        for (const { topic, message, startedAt } of inHand.values()) {
          logger.warn("job still running at the shutdown deadline: left to redelivery", {
            topic,
            message_id: message.id,
            attempt: message.attempt,
            running_ms: Math.round(performance.now() - startedAt),
          });
        }
      });
      onStop(async () => {
        const deadline = AbortSignal.abort();
        await Promise.all(consumers.map((consumer) => consumer.stop({ signal: deadline })));
      });
    },
  });
}
