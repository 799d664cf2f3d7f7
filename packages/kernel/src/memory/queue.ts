import type {
  ConsumeOptions,
  Consumer,
  Delivery,
  EnqueueOptions,
  Json,
  MessageHandler,
  Queue,
  QueueMessage,
  QueueStats,
  ReleaseOptions,
  StopOptions,
} from "../contracts/queue.ts";
import { markEmbedded } from "../token.ts";
import { checkTtl } from "./options.ts";

/** The memory queue, plus `close()` for tests and hand-wired apps. */
export interface MemoryQueue extends Queue, AsyncDisposable {
  /**
   * Stops every consumer (letting handlers in hand finish, up to `options.signal`) and clears its
   * timers. Idempotent.
   */
  close(options?: StopOptions): Promise<void>;
}

interface Stored {
  readonly id: string;
  readonly topic: string;
  /** The payload as JSON text, so a handler never shares an object with the producer. */
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly maxAttempts: number;
  readonly enqueuedAt: number;
  /** Deliveries so far. */
  attempts: number;
}

interface Waiting {
  readonly message: Stored;
  readonly dueAt: number;
}

interface Lease {
  readonly message: Stored;
  readonly token: number;
  readonly consumer: MemoryConsumer;
  /**
   * True while its consumer holds it: one process cannot lose its own heartbeat, so a live lease
   * is renewed for as long as the handler runs. Abandoning it (a stop past its deadline) starts
   * the visibility timeout.
   */
  live: boolean;
  /** When an abandoned lease lapses. */
  until: number;
  readonly visibilityTimeoutMs: number;
  readonly controller: AbortController;
}

interface Topic {
  readonly name: string;
  readonly ready: Stored[];
  /** Delayed messages and retries waiting for their backoff, soonest first. */
  readonly waiting: Waiting[];
  readonly leases: Map<string, Lease>;
  readonly dead: Array<{ readonly message: Stored; readonly error: string }>;
  readonly consumers: MemoryConsumer[];
  next: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  timerAt: number;
}

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000;
const defaultBackoff = (retry: number): number => Math.min(1000 * 2 ** (retry - 1), 60_000);

/**
 * Creates the in-process {@link Queue}: the embedded default in development and tests.
 *
 * It keeps the contract (ack on success, leases renewed while handlers run, redelivery after the
 * visibility timeout, retries with backoff, dead letters, delays, release, graceful stop) inside
 * one process: honest limits: messages live
 * in memory, so a restart loses every one of them, and a web process and a worker process do not
 * share it. It is marked `losesData`, so the production profile refuses it: configure a durable
 * queue (redis) there. It holds a timer only while a consumer runs, and `close()` clears it.
 *
 * @example
 * ```ts
 * import { memoryQueue } from "@twelvefold/kernel/memory";
 * await using queue = memoryQueue();
 * const consumer = queue.consume("emails", async (message) => send(message.payload));
 * await queue.enqueue("emails", { to: "ada@example.com" });
 * await consumer.stop();
 * ```
 */
export function memoryQueue(): MemoryQueue {
  return markEmbedded(new MemoryQueueImpl(), { name: "memory Queue", losesData: true });
}

class MemoryQueueImpl implements MemoryQueue {
  readonly #topics = new Map<string, Topic>();
  #tokens = 0;
  #closed: Promise<void> | undefined;

  #topic(name: string): Topic {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`memory Queue: topic must be a non-empty string: got "${String(name)}"`);
    }
    let topic = this.#topics.get(name);
    if (topic === undefined) {
      topic = {
        name,
        ready: [],
        waiting: [],
        leases: new Map(),
        dead: [],
        consumers: [],
        next: 0,
        timer: undefined,
        timerAt: Infinity,
      };
      this.#topics.set(name, topic);
    }
    return topic;
  }

  async enqueue<T extends Json>(topic: string, payload: T, options: EnqueueOptions = {}): Promise<string> {
    if (this.#closed) throw new TypeError(`memory Queue: enqueue on "${topic}" after close`);
    const state = this.#topic(topic);
    const body = JSON.stringify(payload);
    if (body === undefined) throw new TypeError(`memory Queue: payload for "${topic}" is not JSON`);
    const { delayMs = 0, maxAttempts = DEFAULT_MAX_ATTEMPTS, headers = {} } = options;
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new RangeError(`memory Queue: delayMs must be zero or more: got "${delayMs}"`);
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new RangeError(`memory Queue: maxAttempts must be a positive integer: got "${maxAttempts}"`);
    }
    const now = Date.now();
    const message: Stored = {
      id: crypto.randomUUID(),
      topic,
      body,
      headers: Object.freeze({ ...headers }),
      maxAttempts,
      enqueuedAt: now,
      attempts: 0,
    };
    if (delayMs > 0) insertWaiting(state, { message, dueAt: now + delayMs });
    else state.ready.push(message);
    this.#pump(state);
    return message.id;
  }

  consume<T extends Json>(topic: string, handler: MessageHandler<T>, options: ConsumeOptions = {}): Consumer {
    if (this.#closed) throw new TypeError(`memory Queue: consume on "${topic}" after close`);
    const state = this.#topic(topic);
    const {
      concurrency = 1,
      visibilityTimeoutMs = DEFAULT_VISIBILITY_TIMEOUT_MS,
      backoffMs = defaultBackoff,
    } = options;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`memory Queue: concurrency must be a positive integer: got "${concurrency}"`);
    }
    checkTtl("memory Queue", visibilityTimeoutMs, "visibilityTimeoutMs");
    const consumer = new MemoryConsumer({
      handler: handler as MessageHandler,
      concurrency,
      visibilityTimeoutMs,
      backoffMs,
      onAbandon: (abandoned) => {
        const now = Date.now();
        for (const lease of state.leases.values()) {
          if (lease.consumer !== abandoned || !lease.live) continue;
          lease.live = false;
          lease.until = now + lease.visibilityTimeoutMs;
          lease.controller.abort(new DOMException("memory Queue: consumer stopped past its deadline", "AbortError"));
        }
      },
      onIdle: () => {
        state.consumers.splice(state.consumers.indexOf(consumer), 1);
        this.#pump(state);
      },
    });
    state.consumers.push(consumer);
    if (options.signal) consumer.stopOn(options.signal);
    this.#pump(state);
    return consumer;
  }

  async deadLetters(topic: string, limit = 100): Promise<Array<QueueMessage & { readonly error: string }>> {
    return this.#topic(topic)
      .dead.slice(0, limit)
      .map(({ message, error }) => ({ ...toMessage(message), error }));
  }

  async stats(topic: string): Promise<QueueStats> {
    const state = this.#topic(topic);
    const now = Date.now();
    this.#promote(state, now);
    let oldest = now;
    for (const message of state.ready) oldest = Math.min(oldest, message.enqueuedAt);
    return {
      ready: state.ready.length,
      delayed: state.waiting.length,
      inFlight: state.leases.size,
      dead: state.dead.length,
      oldestAgeMs: now - oldest,
    };
  }

  close(options: StopOptions = {}): Promise<void> {
    const consumers = [...this.#topics.values()].flatMap((t) => t.consumers);
    // A later close with a deadline still bounds the wait of the first.
    if (this.#closed && options.signal) for (const consumer of consumers) void consumer.stop(options);
    this.#closed ??= (async () => {
      await Promise.all(consumers.map((c) => c.stop(options)));
      for (const topic of this.#topics.values()) {
        clearTimeout(topic.timer);
        topic.timer = undefined;
      }
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Moves due delayed messages to ready, and expired leases back to ready (or to the dead letters). */
  #promote(topic: Topic, now: number): void {
    while (topic.waiting.length > 0 && (topic.waiting[0] as Waiting).dueAt <= now) {
      topic.ready.push((topic.waiting.shift() as Waiting).message);
    }
    for (const [id, lease] of topic.leases) {
      if (lease.live || lease.until > now) continue;
      topic.leases.delete(id);
      const error = `visibility timeout of ${lease.visibilityTimeoutMs} ms passed without an ack`;
      lease.controller.abort(new DOMException(`memory Queue: ${error}`, "TimeoutError"));
      if (lease.message.attempts >= lease.message.maxAttempts) topic.dead.push({ message: lease.message, error });
      // Front of the line: it is older than anything ready.
      else topic.ready.unshift(lease.message);
    }
  }

  /** Hands ready messages to consumers with room, round robin, then arms the timer for the next due time. */
  #pump(topic: Topic): void {
    const now = Date.now();
    this.#promote(topic, now);
    while (topic.ready.length > 0) {
      const consumer = nextWithRoom(topic);
      if (consumer === undefined) break;
      this.#deliver(topic, topic.ready.shift() as Stored, consumer);
    }
    this.#arm(topic, now);
  }

  #arm(topic: Topic, now: number): void {
    let due = Infinity;
    if (topic.consumers.length > 0) {
      due = topic.waiting[0]?.dueAt ?? Infinity;
      for (const lease of topic.leases.values()) if (!lease.live) due = Math.min(due, lease.until);
    }
    if (due === topic.timerAt) return;
    clearTimeout(topic.timer);
    topic.timer = undefined;
    topic.timerAt = due;
    if (due === Infinity) return;
    topic.timer = setTimeout(
      () => {
        topic.timer = undefined;
        topic.timerAt = Infinity;
        this.#pump(topic);
      },
      Math.max(0, due - now),
    );
  }

  #deliver(topic: Topic, message: Stored, consumer: MemoryConsumer): void {
    message.attempts++;
    const token = ++this.#tokens;
    const controller = new AbortController();
    const lease: Lease = {
      message,
      token,
      consumer,
      live: true,
      until: Infinity,
      visibilityTimeoutMs: consumer.visibilityTimeoutMs,
      controller,
    };
    topic.leases.set(message.id, lease);
    const delivery: Delivery = {
      get leaseExpiresAt() {
        return lease.live ? Date.now() + lease.visibilityTimeoutMs : lease.until;
      },
      release: async (options) => this.#release(topic, lease, options),
    };
    consumer.run(toMessage(message), controller.signal, delivery, (error) =>
      this.#settle(topic, message, token, consumer, error),
    );
  }

  /** Hands a held message back without counting the attempt; false when its lease had lapsed. */
  #release(topic: Topic, lease: Lease, options: ReleaseOptions = {}): boolean {
    const { delayMs = 0 } = options;
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new RangeError(`memory Queue: delayMs must be zero or more: got "${delayMs}"`);
    }
    const { message } = lease;
    if (topic.leases.get(message.id)?.token !== lease.token) return false;
    topic.leases.delete(message.id);
    message.attempts--;
    lease.controller.abort(new DOMException("memory Queue: the message was released", "AbortError"));
    if (delayMs > 0) insertWaiting(topic, { message, dueAt: Date.now() + delayMs });
    else topic.ready.unshift(message);
    this.#pump(topic);
    return true;
  }

  /** Acks (no error) or schedules a retry; ignored when the lease already lapsed and moved on. */
  #settle(topic: Topic, message: Stored, token: number, consumer: MemoryConsumer, error: unknown): void {
    const lease = topic.leases.get(message.id);
    if (lease?.token === token) {
      topic.leases.delete(message.id);
      if (error !== undefined) {
        const reason = error instanceof Error ? error.message : String(error);
        if (message.attempts >= message.maxAttempts) topic.dead.push({ message, error: reason });
        else insertWaiting(topic, { message, dueAt: Date.now() + Math.max(0, consumer.backoffMs(message.attempts)) });
      }
    }
    this.#pump(topic);
  }
}

interface ConsumerSetup {
  readonly handler: MessageHandler;
  readonly concurrency: number;
  readonly visibilityTimeoutMs: number;
  readonly backoffMs: (retry: number) => number;
  /** Gives up the leases this consumer holds, so they lapse after the visibility timeout. */
  readonly onAbandon: (consumer: MemoryConsumer) => void;
  readonly onIdle: () => void;
}

/** Marks "the handler threw nothing", since a handler may throw `undefined`. */
const OK = undefined;

class MemoryConsumer implements Consumer {
  readonly #setup: ConsumerSetup;
  #inHand = 0;
  #stopping: Promise<void> | undefined;
  #idle: (() => void) | undefined;
  #unlisten: (() => void) | undefined;
  /** Removes the listeners of stop deadlines once the stop has resolved. */
  readonly #forget: Array<() => void> = [];

  constructor(setup: ConsumerSetup) {
    this.#setup = setup;
  }

  get visibilityTimeoutMs(): number {
    return this.#setup.visibilityTimeoutMs;
  }

  backoffMs(retry: number): number {
    return this.#setup.backoffMs(retry);
  }

  get hasRoom(): boolean {
    return this.#stopping === undefined && this.#inHand < this.#setup.concurrency;
  }

  stopOn(signal: AbortSignal): void {
    if (signal.aborted) {
      void this.stop();
      return;
    }
    const onAbort = () => void this.stop();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#unlisten = () => signal.removeEventListener("abort", onAbort);
  }

  run(message: QueueMessage, signal: AbortSignal, delivery: Delivery, settle: (error: unknown) => void): void {
    this.#inHand++;
    const handler = this.#setup.handler;
    const done = (error: unknown) => {
      // Room first, so the settle's pump can hand this consumer its next message.
      this.#inHand--;
      settle(error);
      this.#checkIdle();
    };
    Promise.resolve()
      .then(() => handler(message, signal, delivery))
      .then(
        () => done(OK),
        // A handler that throws `undefined` still failed.
        (error: unknown) => done(error ?? new Error("handler threw undefined")),
      );
  }

  stop(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      this.#idle = resolve;
      this.#unlisten?.();
    });
    const deadline = options.signal;
    if (deadline !== undefined && this.#idle !== undefined) {
      if (deadline.aborted) this.#abandon();
      else {
        const onDeadline = () => this.#abandon();
        deadline.addEventListener("abort", onDeadline, { once: true });
        this.#forget.push(() => deadline.removeEventListener("abort", onDeadline));
      }
    }
    this.#checkIdle();
    return this.#stopping;
  }

  /** The deadline passed: leave what is in hand to redelivery and resolve the stop now. */
  #abandon(): void {
    if (this.#idle === undefined) return;
    this.#setup.onAbandon(this);
    this.#finish();
  }

  #checkIdle(): void {
    if (this.#idle === undefined || this.#inHand > 0) return;
    this.#finish();
  }

  #finish(): void {
    const idle = this.#idle as () => void;
    this.#idle = undefined;
    for (const forget of this.#forget.splice(0)) forget();
    this.#setup.onIdle();
    idle();
  }
}

function nextWithRoom(topic: Topic): MemoryConsumer | undefined {
  const { consumers } = topic;
  for (let i = 0; i < consumers.length; i++) {
    const index = (topic.next + i) % consumers.length;
    const consumer = consumers[index] as MemoryConsumer;
    if (consumer.hasRoom) {
      topic.next = index + 1;
      return consumer;
    }
  }
  return undefined;
}

function insertWaiting(topic: Topic, entry: Waiting): void {
  const { waiting } = topic;
  let i = waiting.length;
  while (i > 0 && (waiting[i - 1] as Waiting).dueAt > entry.dueAt) i--;
  waiting.splice(i, 0, entry);
}

function toMessage(message: Stored): QueueMessage {
  return {
    id: message.id,
    topic: message.topic,
    payload: JSON.parse(message.body) as Json,
    headers: message.headers,
    attempt: message.attempts,
    maxAttempts: message.maxAttempts,
    enqueuedAt: message.enqueuedAt,
  };
}
