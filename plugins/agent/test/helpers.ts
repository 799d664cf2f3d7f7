/**
 * Test helpers for the agent plugin: a side-effect tool that counts its effects by idempotency
 * key, a route that starts runs, an SSE reader, and the client's view of a stream (text per step,
 * with `reset` applied), which is what "no duplicated text" is measured on.
 */
import { eventStream, HttpApp } from "@twelvefold/http";
import { definePlugin, type Plugin } from "@twelvefold/kernel";
import { defineTool } from "@twelvefold/llm";
import { connectRedis } from "@twelvefold/redis";
import * as v from "valibot";
import { AgentError, problemOf } from "../src/errors.ts";
import { AgentRuns } from "../src/plugin.ts";

/**
 * A `remember` tool with side effects; `effects` counts each idempotency key once, `calls` counts
 * runs. `hold` runs after the effect and before the tool returns (a crash there is the case the
 * idempotency key is for); `before` runs before the effect.
 */
export function memoryTool(
  options: {
    readonly before?: (signal: AbortSignal) => Promise<void>;
    readonly hold?: (signal: AbortSignal) => Promise<void>;
  } = {},
) {
  const facts = new Map<string, string>();
  let calls = 0;
  const tool = defineTool({
    name: "remember",
    description: "Remembers a fact for later",
    input: v.object({ fact: v.string() }),
    sideEffects: true,
    async run({ fact }, { idempotencyKey, signal }) {
      calls++;
      await options.before?.(signal);
      if (!facts.has(idempotencyKey ?? fact)) facts.set(idempotencyKey ?? fact, fact);
      await options.hold?.(signal);
      return { result: `noted: ${fact}` };
    },
  });
  return {
    tool,
    get effects() {
      return facts.size;
    },
    get calls() {
      return calls;
    },
  };
}

/** The http plugin's app and writer, for `agent({ routes })`. */
export const routes = { app: HttpApp, eventStream };

/**
 * `POST /runs { text, user? }`: starts a run and answers as a chat route does: the run's SSE
 * stream (the http plugin's writer) for `Accept: text/event-stream`, else JSON once it is done.
 */
export function startRoute(): Plugin {
  return definePlugin({
    name: "start-route",
    requires: [HttpApp, AgentRuns],
    processes: ["web"],
    start({ get }) {
      const runs = get(AgentRuns);
      get(HttpApp).post("/runs", async (c) => {
        const body = (await c.req.json()) as { text: string; user?: string };
        try {
          const { runId } = await runs.start({ user: body.user ?? "ada", text: body.text });
          if (!c.req.header("accept")?.includes("text/event-stream")) return await runs.respond(c.req.raw, runId);
          return eventStream(c, (stream) => runs.pipe(runId, stream), {
            retryMs: runs.retryMs,
            headers: { "x-run-id": runId },
          });
        } catch (error) {
          if (error instanceof AgentError) return problemOf(error);
          throw error;
        }
      });
    },
  });
}

/** One parsed SSE frame. */
export interface Frame {
  readonly id?: string;
  readonly event?: { readonly type: string; readonly [field: string]: unknown };
  readonly retry?: number;
  readonly comment?: string;
}

/**
 * Reads an SSE body frame by frame until it ends, `stopAfter` frames with data have come, or
 * `signal` aborts; then cancels the body (the client goes away).
 */
export async function readFrames(
  response: Response,
  options: {
    readonly stopAfter?: number;
    /** Stop (and leave) after the first frame this holds for. */
    readonly stopAt?: (frame: Frame) => boolean;
    readonly onFrame?: (frame: Frame) => void;
  } = {},
): Promise<Frame[]> {
  const frames: Frame[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let withData = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
        const frame: { id?: string; event?: Frame["event"]; retry?: number; comment?: string } = {};
        for (const line of block.split("\n")) {
          if (line.startsWith("id: ")) frame.id = line.slice(4);
          else if (line.startsWith("data: ")) frame.event = JSON.parse(line.slice(6));
          else if (line.startsWith("retry: ")) frame.retry = Number(line.slice(7));
          else if (line.startsWith(":")) frame.comment = line.slice(1).trim();
        }
        frames.push(frame);
        options.onFrame?.(frame);
        if (frame.event) withData++;
        if (options.stopAfter !== undefined && withData >= options.stopAfter) return frames;
        if (options.stopAt?.(frame)) return frames;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return frames;
}

/** An event as a client received it, with its id. */
export type Received = { readonly id: string; readonly type: string; readonly [field: string]: unknown };

/** The events of some frames. */
export const eventsOf = (frames: readonly Frame[]): Received[] =>
  frames.flatMap((f) => (f.event ? [{ ...f.event, id: f.id as string }] : []));

/** What a client shows: the text of each step, a `reset` forgetting its step's text so far. */
export function clientText(
  events: ReadonlyArray<{ readonly type: string; readonly [field: string]: unknown }>,
): string {
  const steps = new Map<number, string>();
  for (const event of events) {
    const step = event.step as number;
    if (event.type === "text") steps.set(step, (steps.get(step) ?? "") + (event.text as string));
    if (event.type === "reset") steps.delete(step);
  }
  return [...steps.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, text]) => text)
    .join("");
}

/** Polls until `check` holds (generous: suites share two cores). */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The Redis server the tests use (never flushed: every run writes under a prefix of its own). */
export const REDIS_URL = process.env.REDIS_TEST_URL ?? "redis://127.0.0.1:6379";

/** A key prefix no other run uses. */
export const uniquePrefix = () => `tf-test:${crypto.randomUUID().slice(0, 8)}:`;

/** Deletes every key under each prefix, on a short-lived connection of its own. */
export async function removeKeys(prefixes: readonly string[]): Promise<void> {
  const connection = await connectRedis({ url: REDIS_URL });
  try {
    for (const prefix of prefixes) {
      let cursor = "0";
      do {
        const [next, keys] = await connection.send<[string, string[]]>(
          ["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "1000"],
          "test cleanup",
        );
        if (keys.length > 0) await connection.send(["UNLINK", ...keys], "test cleanup");
        cursor = next;
      } while (cursor !== "0");
    }
  } finally {
    await connection.close();
  }
}
