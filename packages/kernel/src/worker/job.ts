/**
 * Worker jobs: a queue topic, a valibot schema for its payload, and the handler a worker process
 * runs for each message. Web code enqueues with the same definition, so producer and consumer
 * cannot disagree on the payload.
 */
import * as v from "valibot";
import type { Logger } from "../contracts/logger.ts";
import type { Delivery, EnqueueOptions, Json, Queue, QueueMessage } from "../contracts/queue.ts";
import type { Span, Tracer } from "../contracts/telemetry.ts";
import { kernelErrors } from "../errors.ts";
import { startProducerSpan } from "../instrument.ts";
import type { ServiceReader } from "../plugin.ts";
import type { Token } from "../token.ts";

/** A payload schema: JSON in (what the queue carries), anything out (what the handler gets). */
export type PayloadSchema = v.GenericSchema<unknown, unknown>;

/** What a job's `run` receives beside its payload. */
export interface JobContext extends ServiceReader {
  /** The job's topic. */
  readonly topic: string;
  /** The delivered message: id, attempt (1 on the first delivery), headers, enqueue time. */
  readonly message: QueueMessage;
  /**
   * Aborts when the delivery lost its lease (another worker has the message now), or when the
   * worker's drain deadline passed: stop then; the message is delivered again.
   */
  readonly signal: AbortSignal;
  /** The worker's logger with `topic`, `message_id` and `attempt` set. */
  readonly logger: Logger;
  /** The `process {topic}` span, a child of the producer's: add attributes and events to it. */
  readonly span: Span;
  /** Hands the message back without counting the attempt (see `Delivery.release`). */
  readonly delivery: Delivery;
}

/** Options for {@link Job.enqueue}. */
export interface JobEnqueueOptions extends Omit<EnqueueOptions, "maxAttempts"> {
  /** Makes the enqueue a `send {topic}` span and carries its trace context to the worker. */
  readonly tracer?: Tracer;
}

/** The definition passed to {@link defineJob}. */
export interface JobDefinition<S extends PayloadSchema> {
  /** The queue topic, e.g. `chat.summarise`: unique among the app's jobs. */
  readonly topic: string;
  /** Checked when enqueued (a bad payload never reaches the queue) and again when delivered. */
  readonly payload: S;
  /** Deliveries before the message goes to the dead letters (default 5). */
  readonly maxAttempts?: number;
  /** Messages of this topic handled at once per worker process (default: WORKER_CONCURRENCY). */
  readonly concurrency?: number;
  /** Tokens the job reads with `get` (when given to `worker({ jobs })`); the worker starts after their providers. */
  readonly requires?: readonly Token<unknown>[];
  /** Tokens it reads with `find` when present. */
  readonly optional?: readonly Token<unknown>[];
  /** Handles one message: resolving acks it, throwing retries it with backoff. */
  run(payload: v.InferOutput<S>, context: JobContext): Promise<void> | void;
}

/** A checked job, as `worker({ jobs })` and `WorkerJobs.add` take it. */
export interface Job<S extends PayloadSchema = PayloadSchema> {
  readonly topic: string;
  readonly payload: S;
  readonly maxAttempts: number;
  readonly concurrency: number | undefined;
  readonly requires: readonly Token<unknown>[];
  readonly optional: readonly Token<unknown>[];
  run(payload: v.InferOutput<S>, context: JobContext): Promise<void> | void;
  /**
   * Checks the payload against the schema and enqueues it on the job's topic with the job's
   * `maxAttempts`; with `tracer`, inside a producer span whose context the message carries.
   * Resolves with the message id. A payload that fails the schema is refused with
   * TF_JOB_INVALID_PAYLOAD and never reaches the queue.
   */
  enqueue(queue: Queue, payload: v.InferInput<S>, options?: JobEnqueueOptions): Promise<string>;
  /** The payload checked against the schema (the handler's input), or TF_JOB_INVALID_PAYLOAD. */
  parse(payload: unknown): v.InferOutput<S>;
}

/**
 * Defines a worker job. The worker process consumes its topic and runs `run` for each message,
 * with the payload checked by the schema and the producer's trace continued; the web process
 * enqueues with `job.enqueue(queue, payload, { tracer })`.
 *
 * @example
 * ```ts
 * import { defineJob, Queue, Tracer, worker } from "@twelvefold/kernel";
 * import * as v from "valibot";
 *
 * export const summarise = defineJob({
 *   topic: "chat.summarise",
 *   payload: v.object({ sessionId: v.string() }),
 *   requires: [ChatModel],
 *   async run({ sessionId }, { get, signal, logger }) {
 *     const title = await titleFor(get(ChatModel), sessionId, { signal });
 *     logger.info("session titled", { session_id: sessionId, title });
 *   },
 * });
 *
 * // web, in a route: one trace spans the request, the queue and the worker.
 * await summarise.enqueue(get(Queue), { sessionId }, { tracer: find(Tracer) });
 * // worker process:
 * createApp({ name: "agent", plugins: [http(), worker({ jobs: [summarise] })] });
 * ```
 */
export function defineJob<S extends PayloadSchema>(definition: JobDefinition<S>): Job<S> {
  const { topic, payload, maxAttempts = 5, concurrency } = definition;
  const refuse = (problem: string) => kernelErrors.create("TF_JOB_INVALID", { topic: String(topic), problem });
  if (typeof topic !== "string" || !/^[a-z0-9][a-z0-9._:-]*$/i.test(topic)) {
    throw refuse("invalid topic: use letters, digits and . _ : -");
  }
  const schema = payload as { "~run"?: unknown; async?: boolean } | undefined;
  if (typeof schema?.["~run"] !== "function") throw refuse("payload must be a valibot schema");
  if (schema.async) throw refuse("payload must be a synchronous schema: an async check belongs in run");
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw refuse(`maxAttempts must be a positive integer: got "${maxAttempts}"`);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw refuse(`concurrency must be a positive integer: got "${concurrency}"`);
  }
  if (typeof definition.run !== "function") throw refuse("run must be a function");
  const parse = (value: unknown): v.InferOutput<S> => {
    const result = v.safeParse(payload, value);
    if (result.success) return result.output;
    const problems = result.issues.map((issue) => {
      const path = issue.path?.map((p) => String(p.key)).join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    });
    throw kernelErrors.create("TF_JOB_INVALID_PAYLOAD", { topic, problems });
  };
  return Object.freeze({
    topic,
    payload,
    maxAttempts,
    concurrency,
    requires: definition.requires ?? [],
    optional: definition.optional ?? [],
    run: definition.run,
    parse,
    async enqueue(queue: Queue, value: v.InferInput<S>, options: JobEnqueueOptions = {}): Promise<string> {
      parse(value);
      const { tracer, ...rest } = options;
      if (tracer === undefined) return queue.enqueue(topic, value as Json, { ...rest, maxAttempts });
      const { span, headers } = startProducerSpan(tracer, topic, rest.headers);
      try {
        return await queue.enqueue(topic, value as Json, { ...rest, headers, maxAttempts });
      } finally {
        span.end();
      }
    },
  });
}
