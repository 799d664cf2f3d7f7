import { expect } from "bun:test";
import type { ConsumeOptions, MessageHandler, Queue, QueueMessage } from "@twelvefold/kernel";
import {
  type AdapterFactory,
  type CaseContext,
  type Cases,
  type ContractCase,
  latch,
  registerSuite,
  type SuiteOptions,
  sleep,
} from "./case.ts";

/** Options of {@link queueContract}: the suite's options plus the adapter's capabilities. */
export interface QueueContractOptions<A extends Queue = Queue> extends SuiteOptions<A> {
  /** With concurrency 1 and no retries, a topic delivers in enqueue order (default true, as the contract says). */
  readonly ordered?: boolean;
}

/** Visibility timeout of the cases that wait for a redelivery: short, with margin for a network hop. */
const SHORT_VISIBILITY_MS = 150;

/** Visibility timeout of the case whose handler outlives it: long enough that a busy machine still renews in time. */
const RENEWED_VISIBILITY_MS = 300;

/** A consumer that records what it received; stopped after the case. */
function recorder(
  queue: Queue,
  topic: string,
  context: CaseContext,
  handle: MessageHandler = async () => {},
  options: ConsumeOptions = {},
) {
  const received: Array<QueueMessage & { readonly at: number }> = [];
  const consumer = queue.consume(
    topic,
    (message, signal, delivery) => {
      received.push({ ...message, at: Date.now() });
      return handle(message, signal, delivery);
    },
    options,
  );
  context.defer(() => consumer.stop());
  return { received, consumer };
}

/** A handler that holds every message until the case lets go; the cleanup lets go too. */
function holding(context: CaseContext) {
  const gate = latch();
  context.defer(gate.release);
  return { gate, handle: () => gate.promise };
}

/** The Queue contract's cases, as data (see {@link runCase}). Every case uses topics of its own. */
export const queueCases: readonly ContractCase<Queue, QueueContractOptions>[] = [
  {
    name: "a message is delivered with its payload, headers and metadata",
    async run(queue, context) {
      const topic = context.unique("topic");
      const { received } = recorder(queue, topic, context);
      const payload = { text: "caf\u00e9 \u{1F600}", n: 42, nested: { list: [1, null, true, "x"] } };
      const headers = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
      const before = Date.now();
      const id = await queue.enqueue(topic, payload, { headers, maxAttempts: 3 });
      const [message] = await context.eventually("delivery", () => received.length === 1 && received);
      expect(typeof id).toBe("string");
      expect(message?.id).toBe(id);
      expect(message?.topic).toBe(topic);
      expect(message?.payload).toEqual(payload);
      expect(message?.headers).toEqual(headers);
      expect(message?.attempt).toBe(1);
      expect(message?.maxAttempts).toBe(3);
      expect(message?.enqueuedAt).toBeGreaterThan(before - 5_000);
      expect(message?.enqueuedAt).toBeLessThan(Date.now() + 5_000);
    },
  },
  {
    name: "a handled message is acked: never delivered again and counted nowhere",
    async run(queue, context) {
      const topic = context.unique("topic");
      const { received } = recorder(queue, topic, context, async () => {}, {
        visibilityTimeoutMs: SHORT_VISIBILITY_MS,
      });
      await queue.enqueue(topic, "once");
      await context.eventually("delivery", () => received.length === 1);
      await sleep(SHORT_VISIBILITY_MS + 100);
      expect(received.length).toBe(1);
      const stats = await queue.stats(topic);
      expect([stats.ready, stats.delayed, stats.inFlight, stats.dead]).toEqual([0, 0, 0, 0]);
    },
  },
  {
    name: "a consumer stopped past its deadline leaves its message to be delivered again as the next attempt",
    async run(queue, context) {
      const topic = context.unique("topic");
      const stuck = holding(context);
      const signals: AbortSignal[] = [];
      const first = recorder(
        queue,
        topic,
        context,
        (_message, signal) => {
          signals.push(signal);
          return stuck.handle();
        },
        { visibilityTimeoutMs: SHORT_VISIBILITY_MS },
      );
      const id = await queue.enqueue(topic, { job: 1 });
      await context.eventually("first delivery", () => first.received.length === 1);
      // The deadline has passed already: stop resolves with the handler still running.
      await first.consumer.stop({ signal: AbortSignal.abort() });
      expect(signals[0]?.aborted).toBe(true);
      const second = recorder(queue, topic, context, async () => {}, { visibilityTimeoutMs: SHORT_VISIBILITY_MS });
      const [again] = await context.eventually("redelivery", () => second.received.length > 0 && second.received);
      expect(again?.id).toBe(id);
      expect(again?.attempt).toBe(2);
      expect(again?.payload).toEqual({ job: 1 });
      expect((again?.at ?? 0) - (first.received[0]?.at ?? 0)).toBeGreaterThanOrEqual(SHORT_VISIBILITY_MS - 5);
    },
  },
  {
    name: "a handler that runs past the visibility timeout keeps its lease: delivered once, then acked",
    async run(queue, context) {
      const topic = context.unique("topic");
      const leases: number[] = [];
      let aborted = false;
      const handle: MessageHandler = async (_message, signal, delivery) => {
        leases.push(delivery.leaseExpiresAt);
        await sleep(RENEWED_VISIBILITY_MS * 3);
        leases.push(delivery.leaseExpiresAt);
        aborted = signal.aborted;
      };
      const options = { visibilityTimeoutMs: RENEWED_VISIBILITY_MS };
      const busy = recorder(queue, topic, context, handle, options);
      await queue.enqueue(topic, "long job");
      await context.eventually("the delivery", () => leases.length === 1);
      // A second consumer stands by: it would get the message if the lease lapsed.
      const standby = recorder(queue, topic, context, async () => {}, options);
      await sleep(RENEWED_VISIBILITY_MS * 3);
      await context.eventually("the job done", () => leases.length === 2);
      await sleep(RENEWED_VISIBILITY_MS * 2);
      expect(busy.received.length + standby.received.length).toBe(1);
      expect(aborted).toBe(false);
      expect(leases[1] as number).toBeGreaterThan((leases[0] as number) + RENEWED_VISIBILITY_MS);
      const stats = await queue.stats(topic);
      expect([stats.ready, stats.delayed, stats.inFlight, stats.dead]).toEqual([0, 0, 0, 0]);
    },
  },
  {
    name: "an ack after the lease lapsed and the message was handed on changes nothing",
    async run(queue, context) {
      const topic = context.unique("topic");
      const late = holding(context);
      const options = { visibilityTimeoutMs: SHORT_VISIBILITY_MS };
      const releases: boolean[] = [];
      let finished = false;
      const first = recorder(
        queue,
        topic,
        context,
        async (_message, _signal, delivery) => {
          await late.handle();
          releases.push(await delivery.release());
          finished = true;
        },
        options,
      );
      await queue.enqueue(topic, "contested");
      await context.eventually("first delivery", () => first.received.length === 1);
      await first.consumer.stop({ signal: AbortSignal.abort() });
      const owner = holding(context);
      const second = recorder(queue, topic, context, owner.handle, options);
      await context.eventually("redelivery", () => second.received.length === 1);
      // The first handler now finishes: its release and its ack come too late.
      late.gate.release();
      await context.eventually("the late handler done", () => finished);
      await sleep(50);
      expect(releases).toEqual([false]);
      expect((await queue.stats(topic)).inFlight).toBe(1);
      owner.gate.release();
      await context.eventually("the new owner's ack", async () => (await queue.stats(topic)).inFlight === 0);
      expect(second.received.map((m) => m.attempt)).toEqual([2]);
      const stats = await queue.stats(topic);
      expect([stats.ready, stats.delayed, stats.dead]).toEqual([0, 0, 0]);
    },
  },
  {
    name: "release hands a message back after its delay without counting the attempt",
    async run(queue, context) {
      const topic = context.unique("topic");
      const released: boolean[] = [];
      const { received } = recorder(queue, topic, context, async (_message, _signal, delivery) => {
        if (received.length === 1) released.push(await delivery.release({ delayMs: 150 }));
      });
      const id = await queue.enqueue(topic, "not yet", { maxAttempts: 1 });
      await context.eventually("the first delivery released", () => released.length === 1);
      expect(released).toEqual([true]);
      expect((await queue.stats(topic)).delayed).toBe(1);
      await context.eventually("the second delivery", () => received.length === 2);
      expect(received.map((m) => [m.id, m.attempt])).toEqual([
        [id, 1],
        [id, 1],
      ]);
      expect((received[1]?.at ?? 0) - (received[0]?.at ?? 0)).toBeGreaterThanOrEqual(145);
      await context.eventually("the ack", async () => (await queue.stats(topic)).inFlight === 0);
      const stats = await queue.stats(topic);
      expect([stats.ready, stats.delayed, stats.dead]).toEqual([0, 0, 0]);
    },
  },
  {
    name: "a consumer that dies mid-message loses nothing: another consumer handles every message",
    async run(queue, context) {
      const topic = context.unique("topic");
      const dead = holding(context);
      const ids = [];
      for (let n = 0; n < 5; n++) ids.push(await queue.enqueue(topic, { n }));
      const dying = recorder(queue, topic, context, dead.handle, { visibilityTimeoutMs: SHORT_VISIBILITY_MS });
      await context.eventually("the dying consumer took one", () => dying.received.length === 1);
      await dying.consumer.stop({ signal: AbortSignal.abort() });
      const survivor = recorder(queue, topic, context, async () => {}, { visibilityTimeoutMs: SHORT_VISIBILITY_MS });
      await context.eventually("every message handled", () => new Set(survivor.received.map((m) => m.id)).size === 5);
      expect(new Set(survivor.received.map((m) => m.id))).toEqual(new Set(ids));
    },
  },
  {
    name: "a failing handler is retried with backoff until maxAttempts, then dead-lettered with its last error",
    async run(queue, context) {
      const topic = context.unique("topic");
      const retries: number[] = [];
      const { received } = recorder(
        queue,
        topic,
        context,
        async (message) => {
          throw new Error(`boom on attempt ${message.attempt}`);
        },
        {
          backoffMs: (retry) => {
            retries.push(retry);
            return 40;
          },
        },
      );
      const id = await queue.enqueue(topic, { doomed: true }, { maxAttempts: 3 });
      const [dead] = await context.eventually("a dead letter", async () => {
        const letters = await queue.deadLetters(topic);
        return letters.length > 0 && letters;
      });
      expect(received.map((m) => m.attempt)).toEqual([1, 2, 3]);
      expect(retries).toEqual([1, 2]);
      // Backoff is a lower bound; allow a few ms of timer rounding.
      expect((received[1]?.at ?? 0) - (received[0]?.at ?? 0)).toBeGreaterThanOrEqual(35);
      expect((received[2]?.at ?? 0) - (received[1]?.at ?? 0)).toBeGreaterThanOrEqual(35);
      expect(dead?.id).toBe(id);
      expect(dead?.payload).toEqual({ doomed: true });
      expect(dead?.error).toBe("boom on attempt 3");
      await sleep(100);
      expect(received.length).toBe(3);
      const stats = await queue.stats(topic);
      expect([stats.ready, stats.delayed, stats.inFlight, stats.dead]).toEqual([0, 0, 0, 1]);
    },
  },
  {
    name: "a handler that fails once succeeds on its retry",
    async run(queue, context) {
      const topic = context.unique("topic");
      const { received } = recorder(
        queue,
        topic,
        context,
        async (message) => {
          if (message.attempt === 1) throw new Error("transient");
        },
        { backoffMs: () => 10 },
      );
      await queue.enqueue(topic, "flaky");
      await context.eventually("the retry", () => received.length === 2);
      expect(received.map((m) => m.attempt)).toEqual([1, 2]);
      await sleep(50);
      expect(received.length).toBe(2);
      expect(await queue.deadLetters(topic)).toEqual([]);
    },
  },
  {
    name: "dead letters keep payloads and errors, oldest first, and honour the limit",
    async run(queue, context) {
      const topic = context.unique("topic");
      recorder(queue, topic, context, async (message) => {
        throw new Error(`bad ${JSON.stringify(message.payload)}`);
      });
      await queue.enqueue(topic, 1, { maxAttempts: 1 });
      await context.eventually("first dead letter", async () => (await queue.deadLetters(topic)).length === 1);
      await queue.enqueue(topic, 2, { maxAttempts: 1 });
      const letters = await context.eventually("second dead letter", async () => {
        const all = await queue.deadLetters(topic);
        return all.length === 2 && all;
      });
      expect(letters.map((l) => [l.payload, l.error, l.attempt])).toEqual([
        [1, "bad 1", 1],
        [2, "bad 2", 1],
      ]);
      expect((await queue.deadLetters(topic, 1)).map((l) => l.payload)).toEqual([1]);
    },
  },
  {
    name: "a delayed message is not delivered before its delay, and does not hold back others",
    async run(queue, context) {
      const topic = context.unique("topic");
      const { received } = recorder(queue, topic, context);
      const before = Date.now();
      await queue.enqueue(topic, "later", { delayMs: 200 });
      await queue.enqueue(topic, "now");
      await context.eventually("the undelayed message", () => received.length === 1);
      expect(received[0]?.payload).toBe("now");
      expect((await queue.stats(topic)).delayed).toBe(1);
      await context.eventually("the delayed message", () => received.length === 2);
      expect(received[1]?.payload).toBe("later");
      expect((received[1]?.at ?? 0) - before).toBeGreaterThanOrEqual(195);
    },
  },
  {
    name: "with concurrency 1 and no failures, a topic delivers in enqueue order",
    needs: "ordered",
    async run(queue, context) {
      const topic = context.unique("topic");
      const sent = Array.from({ length: 20 }, (_, n) => n);
      for (const n of sent) await queue.enqueue(topic, n);
      const { received } = recorder(queue, topic, context);
      await context.eventually("twenty deliveries", () => received.length === 20);
      expect(received.map((m) => m.payload)).toEqual(sent);
    },
  },
  {
    name: "stop finishes and acks the message in hand, takes no new one, then resolves",
    async run(queue, context) {
      const topic = context.unique("topic");
      const gate = holding(context);
      let finished = 0;
      const first = recorder(
        queue,
        topic,
        context,
        async () => {
          await gate.handle();
          finished++;
        },
        { visibilityTimeoutMs: 10_000 },
      );
      await queue.enqueue(topic, "in hand");
      await context.eventually("the first message in hand", () => first.received.length === 1);
      let stopped = false;
      const stopping = first.consumer.stop().then(() => {
        stopped = true;
      });
      await queue.enqueue(topic, "after stop");
      await sleep(50);
      expect(stopped).toBe(false);
      expect(first.received.length).toBe(1);
      gate.gate.release();
      await stopping;
      expect(finished).toBe(1);
      expect(first.received.length).toBe(1);
      // Acked: not in flight any more, and only the second message waits.
      const stats = await queue.stats(topic);
      expect([stats.ready, stats.inFlight]).toEqual([1, 0]);
      const next = recorder(queue, topic, context);
      await context.eventually("the second message", () => next.received.length === 1);
      expect(next.received.map((m) => m.payload)).toEqual(["after stop"]);
    },
  },
  {
    name: "stop is idempotent, and aborting the consume signal stops the consumer",
    async run(queue, context) {
      const topic = context.unique("topic");
      const controller = new AbortController();
      const { received, consumer } = recorder(queue, topic, context, async () => {}, { signal: controller.signal });
      controller.abort();
      await consumer.stop();
      await consumer.stop();
      await queue.enqueue(topic, "nobody listens");
      await sleep(50);
      expect(received.length).toBe(0);
      expect((await queue.stats(topic)).ready).toBe(1);
    },
  },
  {
    name: "concurrency n lets one consumer hold n messages at once, never more",
    async run(queue, context) {
      const topic = context.unique("topic");
      const gate = holding(context);
      let inHand = 0;
      let most = 0;
      const { received } = recorder(
        queue,
        topic,
        context,
        async () => {
          most = Math.max(most, ++inHand);
          await gate.handle();
          inHand--;
        },
        { concurrency: 3 },
      );
      for (let n = 0; n < 5; n++) await queue.enqueue(topic, n);
      await context.eventually("three in hand", () => inHand === 3);
      await sleep(30);
      expect(received.length).toBe(3);
      gate.gate.release();
      await context.eventually("all five handled", () => received.length === 5 && inHand === 0);
      expect(most).toBe(3);
    },
  },
  {
    name: "several consumers of one topic handle each message exactly once",
    async run(queue, context) {
      const topic = context.unique("topic");
      const consumers = [1, 2, 3].map(() => recorder(queue, topic, context));
      const ids = new Set<string>();
      for (let n = 0; n < 30; n++) ids.add(await queue.enqueue(topic, n));
      const all = () => consumers.flatMap((c) => c.received.map((m) => m.id));
      await context.eventually("thirty deliveries", () => all().length >= 30);
      await sleep(20);
      expect(all().length).toBe(30);
      expect(new Set(all())).toEqual(ids);
    },
  },
  {
    name: "topics are independent",
    async run(queue, context) {
      const mine = context.unique("mine");
      const theirs = context.unique("theirs");
      const { received } = recorder(queue, mine, context);
      await queue.enqueue(theirs, "not for you");
      await sleep(50);
      expect(received.length).toBe(0);
      expect((await queue.stats(theirs)).ready).toBe(1);
      expect((await queue.stats(mine)).ready).toBe(0);
    },
  },
  {
    name: "stats count ready and delayed messages and the age of the oldest",
    async run(queue, context) {
      const topic = context.unique("topic");
      const empty = await queue.stats(topic);
      expect(empty).toEqual({ ready: 0, delayed: 0, inFlight: 0, dead: 0, oldestAgeMs: 0 });
      await queue.enqueue(topic, 1);
      await queue.enqueue(topic, 2);
      await queue.enqueue(topic, 3, { delayMs: 60_000 });
      await sleep(30);
      const stats = await queue.stats(topic);
      expect([stats.ready, stats.delayed, stats.inFlight, stats.dead]).toEqual([2, 1, 0, 0]);
      expect(stats.oldestAgeMs).toBeGreaterThanOrEqual(25);
    },
  },
];

/**
 * Registers the Queue contract suite for an adapter.
 *
 * @example
 * ```ts
 * import { queueContract } from "@twelvefold/testing";
 * queueContract("memory", () => memoryQueue(), { dispose: (q) => q.close() });
 * ```
 */
export function queueContract<A extends Queue>(
  name: string,
  makeAdapter: AdapterFactory<A>,
  options: QueueContractOptions<A> = {},
): void {
  const capabilities = new Set(options.ordered === false ? [] : ["ordered"]);
  registerSuite("Queue", name, queueCases as Cases<A, QueueContractOptions<A>>, makeAdapter, {
    ...options,
    capabilities,
  });
}
