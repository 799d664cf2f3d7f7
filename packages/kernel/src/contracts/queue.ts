import { memoryQueue } from "../memory/queue.ts";
import { token } from "../token.ts";

/** JSON-compatible payloads: what survives a trip through any broker. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Options for {@link Queue.enqueue}. */
export interface EnqueueOptions {
  /** Deliver no sooner than this many milliseconds from now. */
  readonly delayMs?: number;
  /** Deliveries before the message goes to the dead-letter list (default 5). */
  readonly maxAttempts?: number;
  /** String headers carried with the message, e.g. W3C `traceparent`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A delivered message. */
export interface QueueMessage<T extends Json = Json> {
  readonly id: string;
  readonly topic: string;
  readonly payload: T;
  readonly headers: Readonly<Record<string, string>>;
  /** 1 on the first delivery, 2 on the first retry, and so on. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Epoch milliseconds of the enqueue. */
  readonly enqueuedAt: number;
}

/** Options for {@link Queue.consume}. */
export interface ConsumeOptions {
  /** Messages handled at once by this consumer (default 1). */
  readonly concurrency?: number;
  /**
   * How long a delivery's lease lasts without a renewal, in ms (default 30 000). The consumer
   * renews the lease while the handler runs, so a handler may take longer than this; the message
   * is delivered again only once the lease lapses: its process died or lost the broker for this
   * long, or the consumer was stopped past its deadline.
   */
  readonly visibilityTimeoutMs?: number;
  /**
   * Delay before retry n after a handler failure; n is 1 for the first retry, i.e. the number of
   * failed attempts so far (default: 1 s doubling, capped at 60 s).
   */
  readonly backoffMs?: (attempt: number) => number;
  /** Aborting it stops the consumer like `stop()`. */
  readonly signal?: AbortSignal;
}

/** Options for {@link Consumer.stop}. */
export interface StopOptions {
  /**
   * Stop waiting when it aborts: handlers still running have their signal aborted and their
   * leases are no longer renewed, so their messages are delivered again once the visibility
   * timeout passes (counting the attempt). A handler that still finishes before then is acked.
   */
  readonly signal?: AbortSignal;
}

/** A running consumer. */
export interface Consumer {
  /**
   * Takes no new message, lets the handlers in hand finish and acks them, then resolves; with
   * `options.signal`, resolves when it aborts at the latest (see {@link StopOptions}). Idempotent.
   */
  stop(options?: StopOptions): Promise<void>;
}

/** Options for {@link Delivery.release}. */
export interface ReleaseOptions {
  /** Deliver it again no sooner than this many ms from now (default 0). */
  readonly delayMs?: number;
}

/** The handler's hold on one delivered message. */
export interface Delivery {
  /** Epoch ms at which the lease lapses unless renewed; it moves forward as the consumer renews it. */
  readonly leaseExpiresAt: number;
  /**
   * Hands the message back without counting this attempt: it is delivered again after `delayMs`
   * (to wait for something, or to let a worker that is shutting down pass it on at once). What the
   * handler does afterwards changes nothing. Resolves false when the delivery had already lost its
   * lease (the message was handed on), true otherwise.
   */
  release(options?: ReleaseOptions): Promise<boolean>;
}

/** Message counts by state, for metrics and health. */
export interface QueueStats {
  readonly ready: number;
  readonly delayed: number;
  readonly inFlight: number;
  readonly dead: number;
  /** Age in ms of the oldest ready message, 0 when none. */
  readonly oldestAgeMs: number;
}

/**
 * Handles one message: resolving acks it, throwing schedules a retry (or dead-letters it).
 * `signal` aborts when the delivery loses its lease (it was handed on, so an ack would change
 * nothing) or its consumer is stopped past its deadline: stop work that has no point any more.
 */
export type MessageHandler<T extends Json = Json> = (
  message: QueueMessage<T>,
  signal: AbortSignal,
  delivery: Delivery,
) => Promise<void>;

/**
 * The Queue contract: at-least-once delivery of JSON jobs between processes (web enqueues,
 * worker consumes).
 *
 * Every adapter must guarantee:
 * - a message is acked only when its handler resolves; while the handler runs, its consumer renews
 *   the lease, however long it takes; a message whose lease lapses (its process crashed, or its
 *   consumer was stopped past the deadline) is delivered again after the visibility timeout, so
 *   nothing is lost;
 * - a handler that throws is retried with backoff until `maxAttempts`, then the message is moved
 *   to the topic's dead-letter list with the last error; a lapsed visibility timeout counts as an
 *   attempt too, so a message that keeps killing its consumer ends there instead of looping;
 * - an ack from a handler whose lease already lapsed changes nothing (the message was handed on;
 *   at-least-once means it may then be handled twice), and its signal is aborted;
 * - `delivery.release()` hands a message back without counting the attempt;
 * - a delayed message is not delivered before its delay;
 * - with concurrency 1 and no retries, messages of a topic are delivered in enqueue order
 *   (retries and redeliveries may reorder);
 * - `stop()` lets handlers in hand finish and acks them, and takes nothing new; past its
 *   deadline it abandons them to redelivery.
 */
export interface Queue {
  enqueue<T extends Json>(topic: string, payload: T, options?: EnqueueOptions): Promise<string>;
  consume<T extends Json>(topic: string, handler: MessageHandler<T>, options?: ConsumeOptions): Consumer;
  /** Messages that ran out of attempts, oldest first, with the last error's message. */
  deadLetters(topic: string, limit?: number): Promise<Array<QueueMessage & { readonly error: string }>>;
  stats(topic: string): Promise<QueueStats>;
}

/** The app's queue: the memory adapter in development (refused in production) unless a plugin provides one. */
export const Queue = token<Queue>("twelvefold/Queue", { fallback: () => memoryQueue() });
