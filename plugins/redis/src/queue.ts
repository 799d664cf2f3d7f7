import type {
  ConsumeOptions,
  Consumer,
  EnqueueOptions,
  Json,
  Logger,
  MessageHandler,
  Queue,
  QueueMessage,
  QueueStats,
  StopOptions,
} from "@twelvefold/kernel";
import type { RedisConnection } from "./connection.ts";
import { fieldMap, GROUP, RedisConsumer, type TopicKeys, toMessage } from "./consumer.ts";
import { scheduleScript, statsScript } from "./queue-scripts.ts";

/** Options of {@link redisQueue}. */
export interface RedisQueueOptions {
  /** Where lost and reclaimed messages are reported. */
  readonly logger?: Logger;
  /** How long one blocking read waits for a message before it is sent again (default 2 000 ms). */
  readonly blockMs?: number;
}

/** The Redis queue, plus `close()` and the count of lost messages. */
export interface RedisQueue extends Queue, AsyncDisposable {
  /**
   * Stops every consumer of this queue (letting handlers in hand finish, up to `options.signal`).
   * The connection stays open: its owner closes it. Idempotent.
   */
  close(options?: StopOptions): Promise<void>;
  /**
   * Messages deleted from a topic's stream (by hand, or by a trim) while a consumer held them:
   * the queue counts and logs each such loss instead of losing it silently.
   */
  lost(topic: string): Promise<number>;
}

const DEFAULT_MAX_ATTEMPTS = 5;

/**
 * Creates the {@link Queue} on Redis Streams: one stream per topic read by one consumer group,
 * delays and retry backoff in a sorted set on Redis's clock, a dead-letter stream per topic.
 * Each consumer reads on a blocking connection of its own, renews its leases while handlers run,
 * acks through a Lua script that checks the entry is still its own, and sweeps (XAUTOCLAIM) the
 * messages of consumers that died. Needs `maxmemory-policy noeviction`: the plugin checks at start.
 *
 * @example
 * ```ts
 * const queue = redisQueue(connection, { logger });
 * const consumer = queue.consume("emails", async (message) => send(message.payload), { concurrency: 10 });
 * await queue.enqueue("emails", { to: "ada@example.com" });
 * await consumer.stop();
 * ```
 */
export function redisQueue(connection: RedisConnection, options: RedisQueueOptions = {}): RedisQueue {
  return new RedisQueueImpl(connection, options);
}

function checkTopic(topic: string): void {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError(`redis Queue: topic must be a non-empty string: got "${String(topic)}"`);
  }
}

class RedisQueueImpl implements RedisQueue {
  readonly #connection: RedisConnection;
  readonly #options: RedisQueueOptions;
  readonly #consumers = new Set<RedisConsumer>();
  #closed: Promise<void> | undefined;

  constructor(connection: RedisConnection, options: RedisQueueOptions) {
    this.#connection = connection;
    this.#options = options;
  }

  #keys(topic: string): TopicKeys {
    const base = `${this.#connection.prefix}q:{${topic}}:`;
    return { stream: `${base}s`, delayed: `${base}d`, dead: `${base}x`, lost: `${base}lost` };
  }

  async enqueue<T extends Json>(topic: string, payload: T, options: EnqueueOptions = {}): Promise<string> {
    if (this.#closed) throw new TypeError(`redis Queue: enqueue on "${topic}" after close`);
    checkTopic(topic);
    const body = JSON.stringify(payload);
    if (body === undefined) throw new TypeError(`redis Queue: payload for "${topic}" is not JSON`);
    const { delayMs = 0, maxAttempts = DEFAULT_MAX_ATTEMPTS, headers = {} } = options;
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new RangeError(`redis Queue: delayMs must be zero or more: got "${delayMs}"`);
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new RangeError(`redis Queue: maxAttempts must be a positive integer: got "${maxAttempts}"`);
    }
    const id = crypto.randomUUID();
    const envelope = `{"i":"${id}","t":${Date.now()},"h":${JSON.stringify(headers)},"p":${body}}`;
    const keys = this.#keys(topic);
    if (delayMs > 0) {
      const delay = String(Math.ceil(delayMs));
      await this.#connection.eval(
        scheduleScript,
        [keys.delayed],
        [delay, `0:${maxAttempts}:${envelope}`],
        "queue enqueue",
      );
      this.wake(topic, delayMs);
    } else {
      await this.#connection.send(
        ["XADD", keys.stream, "*", "e", envelope, "a", "0", "n", String(maxAttempts)],
        "queue enqueue",
      );
    }
    return id;
  }

  consume<T extends Json>(topic: string, handler: MessageHandler<T>, options: ConsumeOptions = {}): Consumer {
    if (this.#closed) throw new TypeError(`redis Queue: consume on "${topic}" after close`);
    checkTopic(topic);
    const consumer = new RedisConsumer({
      connection: this.#connection,
      topic,
      keys: this.#keys(topic),
      handler: handler as MessageHandler,
      options,
      blockMs: this.#options.blockMs ?? 2_000,
      logger: this.#options.logger,
      onStopped: () => this.#consumers.delete(consumer),
    });
    this.#consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  /** Tells this process's consumers of `topic` that a delayed message is due in `inMs`. */
  wake(topic: string, inMs: number): void {
    for (const consumer of this.#consumers) if (consumer.topic === topic) consumer.maintainIn(inMs);
  }

  async deadLetters(topic: string, limit = 100): Promise<Array<QueueMessage & { readonly error: string }>> {
    checkTopic(topic);
    const entries = await this.#connection.send<Array<[string, string[]]>>(
      ["XRANGE", this.#keys(topic).dead, "-", "+", "COUNT", String(limit)],
      "queue dead letters",
    );
    return entries.map(([, fields]) => {
      const f = fieldMap(fields);
      return { ...toMessage(topic, f.e ?? "{}", Number(f.a), Number(f.n)), error: f.r ?? "" };
    });
  }

  async stats(topic: string): Promise<QueueStats> {
    checkTopic(topic);
    const keys = this.#keys(topic);
    const [entries, pending, delayed, dead, age] = await this.#connection.eval<number[]>(
      statsScript,
      [keys.stream, keys.delayed, keys.dead],
      [GROUP],
      "queue stats",
    );
    return {
      ready: Math.max(0, (entries ?? 0) - (pending ?? 0)),
      delayed: delayed ?? 0,
      inFlight: pending ?? 0,
      dead: dead ?? 0,
      oldestAgeMs: Math.max(0, age ?? 0),
    };
  }

  async lost(topic: string): Promise<number> {
    checkTopic(topic);
    return Number((await this.#connection.send<string | null>(["GET", this.#keys(topic).lost], "queue lost")) ?? 0);
  }

  close(options: StopOptions = {}): Promise<void> {
    this.#closed ??= Promise.all([...this.#consumers].map((c) => c.stop(options))).then(() => {});
    // A later close with a deadline still bounds the wait.
    if (options.signal) for (const consumer of this.#consumers) void consumer.stop(options);
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
