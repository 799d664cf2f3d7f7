import type {
  ConsumeOptions,
  Consumer,
  Delivery,
  Json,
  Logger,
  MessageHandler,
  QueueMessage,
  ReleaseOptions,
  StopOptions,
} from "@twelvefold/kernel";
import type { BlockingConnection, RedisConnection } from "./connection.ts";
import { RedisError } from "./errors.ts";
import { maintainScript, renewScript, settleScript } from "./queue-scripts.ts";

/** The consumer group every consumer of a topic joins. */
export const GROUP = "tf";

/** `{"i":id,"t":ms,"h":{...},"p":payload}`: parsed once per delivery, so handlers never share an object. */
interface Envelope {
  readonly i: string;
  readonly t: number;
  readonly h: Readonly<Record<string, string>>;
  readonly p: Json;
}

/** Builds a message from a stream entry's envelope. */
export function toMessage(topic: string, envelope: string, attempt: number, maxAttempts: number): QueueMessage {
  const parsed = JSON.parse(envelope) as Envelope;
  return {
    id: parsed.i,
    topic,
    payload: parsed.p,
    headers: Object.freeze(parsed.h),
    attempt,
    maxAttempts,
    enqueuedAt: parsed.t,
  };
}

/** A stream entry's flat field list as an object. */
export function fieldMap(fields: readonly string[]): Record<string, string | undefined> {
  const map: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i] as string] = fields[i + 1] as string;
  return map;
}

/** The keys of one topic. */
export interface TopicKeys {
  readonly stream: string;
  readonly delayed: string;
  readonly dead: string;
  readonly lost: string;
}

/** What a {@link RedisConsumer} needs from its queue. */
export interface ConsumerSetup {
  readonly connection: RedisConnection;
  readonly topic: string;
  readonly keys: TopicKeys;
  readonly handler: MessageHandler;
  readonly options: ConsumeOptions;
  readonly blockMs: number;
  readonly logger: Logger | undefined;
  readonly onStopped: () => void;
}

/** One message in hand. */
interface Held {
  readonly entryId: string;
  readonly message: QueueMessage;
  /** The `a:n:` fields and envelope, to add the message again on a retry or a release. */
  readonly envelope: string;
  readonly controller: AbortController;
  /** Epoch ms of the last renewal (or the read): the lease lapses a visibility timeout later. */
  renewedAt: number;
  /** Given up at a stop deadline: no longer renewed. */
  abandoned: boolean;
  /** Released, or found to belong to another consumer now: its outcome changes nothing. */
  gone: boolean;
}

const DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000;
const defaultBackoff = (retry: number): number => Math.min(1000 * 2 ** (retry - 1), 60_000);
/** Waits between retries of a failed read or settle while Redis is away: 100 ms doubling to 2 s. */
const retryDelay = (failures: number) => Math.min(100 * 2 ** failures, 2_000);

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A consumer of one topic: a read loop on a blocking connection of its own (XREADGROUP BLOCK),
 * a renewal timer for its leases, and the topic's housekeeping (delayed messages, reclaims).
 * While Redis is away it pauses, and it resumes by itself when the connection is back.
 */
export class RedisConsumer implements Consumer {
  readonly topic: string;
  readonly #setup: ConsumerSetup;
  readonly #name = crypto.randomUUID();
  readonly #concurrency: number;
  readonly #visibilityMs: number;
  readonly #backoff: (retry: number) => number;
  readonly #held = new Map<string, Held>();
  readonly #stopSignal = new AbortController();
  /** Settles and releases in progress, which a stop waits for. */
  readonly #settling = new Set<Promise<void>>();
  #blocking: BlockingConnection | undefined;
  #loop: Promise<void> = Promise.resolve();
  #slot: (() => void) | undefined;
  #idle: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #renewing = false;
  #maintainTimer: ReturnType<typeof setTimeout> | undefined;
  #maintainAt = Infinity;
  #maintaining = false;
  #unlisten: (() => void) | undefined;
  #abandoned = false;

  constructor(setup: ConsumerSetup) {
    this.#setup = setup;
    this.topic = setup.topic;
    const {
      concurrency = 1,
      visibilityTimeoutMs = DEFAULT_VISIBILITY_TIMEOUT_MS,
      backoffMs = defaultBackoff,
    } = setup.options;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`redis Queue: concurrency must be a positive integer: got "${concurrency}"`);
    }
    if (!Number.isFinite(visibilityTimeoutMs) || visibilityTimeoutMs < 10) {
      throw new RangeError(`redis Queue: visibilityTimeoutMs must be at least 10 ms: got "${visibilityTimeoutMs}"`);
    }
    this.#concurrency = concurrency;
    this.#visibilityMs = Math.ceil(visibilityTimeoutMs);
    this.#backoff = backoffMs;
  }

  /** How often housekeeping runs when nothing is due sooner. */
  get #maintainEveryMs(): number {
    return Math.max(20, Math.min(this.#visibilityMs / 2, 500));
  }

  start(): void {
    const signal = this.#setup.options.signal;
    if (signal) {
      const onAbort = () => void this.stop();
      if (signal.aborted) {
        void this.stop();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      this.#unlisten = () => signal.removeEventListener("abort", onAbort);
    }
    // Renew well within the timeout, so one slow renewal does not lose the lease.
    this.#renewTimer = setInterval(() => void this.#renew(), Math.max(5, this.#visibilityMs / 3));
    this.#loop = this.#read();
    this.maintainIn(0);
  }

  stop(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= this.#shutdown();
    const deadline = options.signal;
    if (deadline) {
      if (deadline.aborted) this.#abandon();
      else deadline.addEventListener("abort", () => this.#abandon(), { once: true });
    }
    return this.#stopping;
  }

  /** Runs housekeeping in `ms` (sooner than planned, when a delayed message is due then). */
  maintainIn(ms: number): void {
    if (this.#stopSignal.signal.aborted) return;
    const at = Date.now() + Math.max(0, ms);
    if (at >= this.#maintainAt) return;
    clearTimeout(this.#maintainTimer);
    this.#maintainAt = at;
    this.#maintainTimer = setTimeout(() => void this.#maintain(), Math.max(0, ms));
  }

  async #read(): Promise<void> {
    const { connection, keys } = this.#setup;
    const stop = this.#stopSignal.signal;
    let failures = 0;
    let grouped = false;
    while (!stop.aborted) {
      try {
        if (this.#blocking === undefined || this.#blocking.closed) this.#blocking = await connection.blocking();
        if (!grouped) {
          await this.#createGroup();
          grouped = true;
        }
        const free = this.#concurrency - this.#held.size;
        if (free <= 0) {
          await new Promise<void>((resolve) => {
            this.#slot = resolve;
          });
          continue;
        }
        const block = String(this.#setup.blockMs);
        const reply = await this.#blocking.send<Array<[string, Array<[string, string[]]>]> | null>(
          [
            "XREADGROUP",
            "GROUP",
            GROUP,
            this.#name,
            "COUNT",
            String(free),
            "BLOCK",
            block,
            "STREAMS",
            keys.stream,
            ">",
          ],
          "queue read",
        );
        failures = 0;
        for (const [entryId, fields] of reply?.[0]?.[1] ?? []) this.#take(entryId, fields);
      } catch (error) {
        if (stop.aborted) break;
        if (errorText(error).includes("NOGROUP")) {
          // The stream was deleted under us: make it and the group again.
          grouped = false;
          continue;
        }
        if (!(error instanceof RedisError && error.retryable) && failures === 0) {
          this.#setup.logger?.warn("redis Queue: read failed: retrying", { topic: this.topic, error });
        }
        await pause(retryDelay(failures++), stop);
      }
    }
  }

  async #createGroup(): Promise<void> {
    try {
      await this.#setup.connection.send(
        ["XGROUP", "CREATE", this.#setup.keys.stream, GROUP, "0", "MKSTREAM"],
        "queue create group",
      );
    } catch (error) {
      if (!errorText(error).includes("BUSYGROUP")) throw error;
    }
  }

  #take(entryId: string, fields: string[]): void {
    const f = fieldMap(fields);
    const before = Number(f.a ?? 0);
    const maxAttempts = Number(f.n ?? 1);
    const envelope = f.e ?? "{}";
    if (this.#stopSignal.signal.aborted) {
      // Read just as the stop began: hand it back at once, the attempt not counted.
      this.#track(this.#settle(entryId, ["retry", String(before), "0", String(maxAttempts), envelope, ""]));
      return;
    }
    const held: Held = {
      entryId,
      message: toMessage(this.topic, envelope, before + 1, maxAttempts),
      envelope,
      controller: new AbortController(),
      renewedAt: Date.now(),
      abandoned: false,
      gone: false,
    };
    this.#held.set(entryId, held);
    const visibilityMs = this.#visibilityMs;
    const delivery: Delivery = {
      get leaseExpiresAt() {
        return held.renewedAt + visibilityMs;
      },
      release: (options) => this.#release(held, options),
    };
    const handler = this.#setup.handler;
    Promise.resolve()
      .then(() => handler(held.message, held.controller.signal, delivery))
      .then(
        () => this.#finish(held, undefined),
        (error: unknown) => this.#finish(held, error ?? new Error("handler threw undefined")),
      );
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.then(
      () => {},
      () => {},
    );
    this.#settling.add(tracked);
    void tracked.finally(() => this.#settling.delete(tracked));
  }

  /** The handler settled: ack, retry or dead-letter, unless the delivery is gone. */
  #finish(held: Held, error: unknown): void {
    const done = () => {
      this.#held.delete(held.entryId);
      this.#freed();
    };
    if (held.gone) {
      done();
      return;
    }
    const { message } = held;
    let args: string[];
    if (error === undefined) {
      args = ["ack"];
    } else {
      const reason = errorText(error);
      const n = String(message.maxAttempts);
      if (message.attempt >= message.maxAttempts) {
        args = ["dead", String(message.attempt), "0", n, held.envelope, reason];
      } else {
        const delay = Math.max(0, Math.ceil(this.#backoff(message.attempt)));
        args = ["retry", String(message.attempt), String(delay), n, held.envelope, reason];
        if (delay > 0) this.maintainIn(delay);
      }
    }
    const work = this.#settle(held.entryId, args, held).then(done);
    this.#track(work);
  }

  /**
   * Runs the settle script, retrying while Redis is away for as long as the delivery is still
   * ours (it stays in hand, so its lease is renewed meanwhile). Resolves whether it settled.
   */
  async #settle(entryId: string, args: readonly string[], held?: Held): Promise<boolean> {
    const { connection, keys } = this.#setup;
    for (let failures = 0; ; failures++) {
      try {
        const settled = await connection.eval<number>(
          settleScript,
          [keys.stream, keys.delayed, keys.dead],
          [GROUP, this.#name, entryId, ...args],
          `queue ${args[0]}`,
        );
        if (settled === 0 && held) held.gone = true;
        return settled === 1;
      } catch (error) {
        const retryable = error instanceof RedisError && error.retryable;
        if (!retryable || held?.gone || held?.abandoned || (held === undefined && this.#abandoned)) {
          if (!held?.abandoned) {
            this.#setup.logger?.error("redis Queue: could not settle a message", { topic: this.topic, error });
          }
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, retryDelay(failures)));
      }
    }
  }

  async #release(held: Held, options: ReleaseOptions = {}): Promise<boolean> {
    const { delayMs = 0 } = options;
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new RangeError(`redis Queue: delayMs must be zero or more: got "${delayMs}"`);
    }
    if (held.gone) return false;
    held.gone = true;
    const { message } = held;
    const delay = String(Math.ceil(delayMs));
    try {
      const settled = await this.#settle(held.entryId, [
        "retry",
        String(message.attempt - 1),
        delay,
        String(message.maxAttempts),
        held.envelope,
        "",
      ]);
      if (settled) {
        held.controller.abort(new DOMException("redis Queue: the message was released", "AbortError"));
        if (delayMs > 0) this.maintainIn(delayMs);
      }
      return settled;
    } catch (error) {
      held.gone = false;
      throw error;
    }
  }

  async #renew(): Promise<void> {
    if (this.#renewing) return;
    const live = [...this.#held.values()].filter((h) => !h.abandoned && !h.gone);
    if (live.length === 0) return;
    this.#renewing = true;
    const sentAt = Date.now();
    const { connection, keys } = this.#setup;
    try {
      const gone = await connection.eval<string[]>(
        renewScript,
        [keys.stream, keys.lost],
        [GROUP, this.#name, ...live.map((h) => h.entryId)],
        "queue renew",
      );
      const lost = new Set(gone);
      for (const held of live) {
        if (!lost.has(held.entryId)) {
          held.renewedAt = sentAt;
          continue;
        }
        held.gone = true;
        held.controller.abort(
          new DOMException("redis Queue: the lease was lost: the message was handed on", "AbortError"),
        );
        this.#setup.logger?.warn("redis Queue: a handler lost its lease; its outcome will change nothing", {
          topic: this.topic,
          message_id: held.message.id,
        });
      }
    } catch {
      // Redis is away: the leases keep their last renewal, and the next tick tries again.
    } finally {
      this.#renewing = false;
    }
  }

  async #maintain(): Promise<void> {
    this.#maintainAt = Infinity;
    this.#maintainTimer = undefined;
    if (this.#stopSignal.signal.aborted || this.#maintaining) return;
    this.#maintaining = true;
    const { connection, keys, logger } = this.#setup;
    let next = this.#maintainEveryMs;
    try {
      const [due, reclaimed, dead, lost] = await connection.eval<number[]>(
        maintainScript,
        [keys.stream, keys.delayed, keys.dead, keys.lost],
        [GROUP, this.#name, String(this.#visibilityMs), "100"],
        "queue maintain",
      );
      if (due !== undefined && due >= 0) next = Math.min(next, due);
      if (reclaimed || dead) {
        logger?.info("redis Queue: reclaimed messages whose consumer stopped renewing", {
          topic: this.topic,
          redelivered: reclaimed,
          dead_lettered: dead,
        });
      }
      if (lost) {
        logger?.error("redis Queue: messages were deleted from the stream while a consumer held them: they are lost", {
          topic: this.topic,
          lost,
        });
      }
    } catch (error) {
      if (errorText(error).includes("NOGROUP")) next = 0;
    } finally {
      this.#maintaining = false;
    }
    this.maintainIn(next);
  }

  #freed(): void {
    const slot = this.#slot;
    this.#slot = undefined;
    slot?.();
    if (this.#idle !== undefined && this.#held.size === 0) this.#idle();
  }

  async #shutdown(): Promise<void> {
    this.#unlisten?.();
    this.#stopSignal.abort();
    clearTimeout(this.#maintainTimer);
    this.#slot?.();
    // CLIENT UNBLOCK ends a read in progress; repeated, in case the read had not blocked yet.
    const unblock = () => void this.#blocking?.unblock();
    unblock();
    const unblocking = setInterval(unblock, 50);
    await this.#loop;
    clearInterval(unblocking);
    if (this.#held.size > 0) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
    }
    while (this.#settling.size > 0) await Promise.all(this.#settling);
    clearInterval(this.#renewTimer);
    this.#blocking?.close();
    this.#setup.onStopped();
  }

  /** The stop deadline passed: leave what is in hand to redelivery and stop waiting for it. */
  #abandon(): void {
    this.#abandoned = true;
    for (const held of this.#held.values()) {
      held.abandoned = true;
      held.controller.abort(new DOMException("redis Queue: consumer stopped past its deadline", "AbortError"));
    }
    this.#held.clear();
    this.#blocking?.close();
    this.#freed();
    this.#idle?.();
  }
}
