/**
 * The web side of runs: start one (enqueue it), follow its events from any point, wait for its
 * result, cancel it, decide on an approval. Nothing here holds state of its own: the EventLog is
 * shared, so any replica serves any run and a stream resumed on another replica loses nothing.
 */
import type { ChatMessage, EventLog, Lock } from "@twelvefold/kernel";
import type { ApprovalSigner } from "./approval.ts";
import { agentErrors } from "./errors.ts";
import {
  controlLog,
  isInternal,
  isTerminal,
  type LoggedEvent,
  parseEvent,
  type RunEvent,
  type RunUsage,
  runLog,
} from "./events.ts";
import { takeSlot } from "./slots.ts";
import { loadState } from "./state.ts";

/** Options of {@link AgentRuns.start}. */
export interface StartOptions {
  /** Who asks: runs in flight are counted per user. */
  readonly user: string;
  /** The user's message; or give `messages`. */
  readonly text?: string;
  /** The run's input messages, after the conversation's history. */
  readonly messages?: readonly ChatMessage[];
  /** The conversation the run belongs to: its history is loaded, and the exchange saved, through the ConversationStore. */
  readonly conversation?: string;
}

/**
 * The open stream {@link AgentRuns.pipe} writes a run's events to: the http plugin's
 * `EventStream` (from `eventStream(c, (stream) => runs.pipe(runId, stream))`) fits it as it is.
 */
export interface RunStream {
  /** The `Last-Event-ID` the client sent on reconnecting. */
  readonly lastEventId: string | undefined;
  /** Aborts when the client goes away or the stream ends (at drain, say). */
  readonly signal: AbortSignal;
  /** Writes one event; waits while the client reads slower than the run writes. */
  send(event: { readonly id: string; readonly data: string }): Promise<void>;
}

/** Options of {@link AgentRuns.events}. */
export interface EventsOptions {
  /** Only events after this id: a client's Last-Event-ID. */
  readonly after?: string;
  readonly signal?: AbortSignal;
}

type ApprovalRequired = Extract<RunEvent, { type: "approval_required" }>;

/** How a run stands once it ended or waits for a person. */
export interface RunResult {
  readonly runId: string;
  readonly status: "done" | "cancelled" | "failed" | "approval_required";
  /** The answer (`done`), or the text so far. */
  readonly text: string;
  readonly usage: RunUsage;
  readonly messageId?: string;
  /** Approvals the run waits for (`approval_required`). */
  readonly approvals: readonly ApprovalRequired[];
  /** The `done` reason, or why it was cancelled or failed. */
  readonly reason?: string;
}

/** A decision on an approval request, as a client posts it. */
export interface Decision {
  /** The `request` of the `approval_required` event, exactly as received. */
  readonly request: string;
  readonly approved: boolean;
}

/** The runs API, for the app's routes and the plugin's own. */
export interface AgentRuns {
  /** Starts a run: takes a slot for the user (or refuses with a 429 AgentError), logs the input, enqueues the job. */
  start(options: StartOptions): Promise<{ readonly runId: string }>;
  /** The run's events a client sees, after `options.after`, until the run ends (then the iteration does too). */
  events(runId: string, options?: EventsOptions): AsyncGenerator<LoggedEvent>;
  /** Waits until the run ends or waits for an approval. */
  result(runId: string, options?: { readonly signal?: AbortSignal }): Promise<RunResult>;
  /**
   * Refuses, before a stream's headers go out, what a stream of the run could not serve: an
   * unknown or expired run (404 AgentError) and a Last-Event-ID the log cannot read (400).
   */
  check(runId: string, lastEventId?: string): Promise<void>;
  /**
   * Writes the run's events to an open event stream, each with its log id as the SSE `id:`, after
   * the client's Last-Event-ID (or `after`), until the run ends, the client leaves or the stream
   * is ended at drain. With the http plugin: `eventStream(c, (stream) => runs.pipe(runId, stream),
   * { retryMs: runs.retryMs })`.
   */
  pipe(runId: string, stream: RunStream, options?: { readonly after?: string }): Promise<void>;
  /** The `retry:` hint, in ms, for streams of runs ended at drain (AGENT_SSE_RETRY_MS). */
  readonly retryMs: number;
  /** Asks the run to stop: its model call and tools are aborted, and its events end with `cancelled`. */
  cancel(runId: string, options?: { readonly reason?: string }): Promise<void>;
  /** Takes a decision on a signed approval request (403 when forged, altered, expired or for another run) and resumes the run. */
  approve(runId: string, decision: Decision): Promise<{ readonly callId: string }>;
  /**
   * Answers with the run's result as JSON, once it ends or waits for an approval:
   * `{ run_id, status, response, message_id, usage, approvals, reason }` (the stream is {@link pipe}'s).
   */
  respond(request: Request, runId: string): Promise<Response>;
}

/** How the web side is set up. */
export interface RunsSetup {
  readonly log: EventLog;
  readonly lock: Lock;
  readonly signer: ApprovalSigner;
  /** Hands the run to a worker (enqueues its job). */
  readonly enqueue: (runId: string) => Promise<unknown>;
  readonly maxRunsPerUser: number;
  readonly runTtlMs: number;
  readonly waitMs: number;
  readonly retryMs: number;
}

const PAGE = 500;

/** Builds the runs API over the app's EventLog, Queue and Lock. */
export function createRuns(setup: RunsSetup): AgentRuns {
  const { log, lock, signer, enqueue } = setup;

  /** Refuses an unknown run, and a Last-Event-ID the log cannot read (a TypeError from the log). */
  async function check(runId: string, after?: string): Promise<void> {
    let first: Awaited<ReturnType<EventLog["read"]>>;
    try {
      first = await log.read(runLog(runId), { limit: 1 });
      if (after !== undefined) await log.read(runLog(runId), { after, limit: 1 });
    } catch (error) {
      if (error instanceof TypeError) {
        throw agentErrors.create("TF_AGENT_BAD_REQUEST", { reason: `not an event id: ${JSON.stringify(after)}` });
      }
      throw error;
    }
    if (first.length === 0) throw agentErrors.create("TF_AGENT_NOT_FOUND", { runId });
  }

  /** True once the run's terminal event is in its log (the worker then notes it in the control log). */
  async function ended(runId: string): Promise<boolean> {
    const control = await log.read(controlLog(runId), { limit: PAGE });
    return control.some(({ id, data }) => parseEvent(id, data)?.type === "ended");
  }

  async function* events(runId: string, options: EventsOptions = {}): AsyncGenerator<LoggedEvent> {
    let cursor = options.after;
    // A client back after the end (it had the terminal event) is done at once, not after a wait.
    if (cursor !== undefined && (await log.read(runLog(runId), { after: cursor, limit: 1 })).length === 0) {
      if (await ended(runId)) return;
    }
    for (;;) {
      const page = await log.wait(runLog(runId), {
        after: cursor,
        limit: PAGE,
        timeoutMs: setup.waitMs,
        signal: options.signal,
      });
      for (const { id, data } of page) {
        cursor = id;
        const event = parseEvent(id, data);
        if (event === undefined || isInternal(event)) continue;
        yield event;
        if (isTerminal(event)) return;
      }
      if (page.length > 0) continue;
      // A quiet spell: the run may have ended just before the cursor, or its log expired.
      if (await ended(runId)) return;
      if ((await log.read(runLog(runId), { limit: 1 })).length === 0) {
        throw agentErrors.create("TF_AGENT_NOT_FOUND", { runId });
      }
    }
  }

  const api: AgentRuns = {
    async start(options) {
      const user = options.user;
      if (typeof user !== "string" || user === "") {
        throw agentErrors.create("TF_AGENT_BAD_REQUEST", { reason: "a run needs a user" });
      }
      const messages: ChatMessage[] = [...(options.messages ?? [])];
      if (options.text !== undefined) messages.push({ role: "user", content: options.text });
      if (messages.length === 0) {
        throw agentErrors.create("TF_AGENT_BAD_REQUEST", { reason: "a run needs text or messages" });
      }
      const runId = crypto.randomUUID();
      const max = setup.maxRunsPerUser;
      const lease = max > 0 ? await takeSlot(lock, user, { max, ttlMs: setup.runTtlMs }) : undefined;
      if (max > 0 && lease === undefined) throw agentErrors.create("TF_AGENT_TOO_MANY_RUNS", { max });
      const slot = lease && { key: lease.key, owner: lease.owner };
      try {
        const input: RunEvent = { type: "input", user, conversation: options.conversation, messages, slot };
        await log.append(runLog(runId), JSON.stringify(input));
        await Promise.all([log.expire(runLog(runId), setup.runTtlMs), enqueue(runId)]);
      } catch (error) {
        if (slot) await lock.release(slot).catch(() => {});
        throw error;
      }
      return { runId };
    },

    events,

    async result(runId, options = {}) {
      await check(runId);
      const texts = new Map<number, string>();
      const pending = new Map<string, ApprovalRequired>();
      let cursor: string | undefined;
      for (;;) {
        const page = await log.read(runLog(runId), { after: cursor, limit: PAGE });
        for (const { id, data } of page) {
          cursor = id;
          const event = parseEvent(id, data);
          if (event === undefined) continue;
          if (event.type === "text") texts.set(event.step, (texts.get(event.step) ?? "") + event.text);
          else if (event.type === "reset") texts.delete(event.step);
          else if (event.type === "approval_required") pending.set(event.call.id, event);
          else if (event.type === "approval") pending.delete(event.call_id);
          else if (event.type === "done" || event.type === "cancelled" || event.type === "failed") {
            const soFar = [...texts.values()].join("");
            const usage = event.type === "done" ? event.usage : { input_tokens: 0, output_tokens: 0 };
            return {
              runId,
              status: event.type,
              text: event.type === "done" ? event.text : soFar,
              usage,
              messageId: event.type === "done" ? event.message_id : undefined,
              approvals: [],
              reason: event.type === "done" ? event.reason : event.type === "cancelled" ? event.reason : event.message,
            };
          }
        }
        if (page.length === PAGE) continue;
        if (pending.size > 0) {
          return {
            runId,
            status: "approval_required",
            text: [...texts.values()].join(""),
            usage: { input_tokens: 0, output_tokens: 0 },
            approvals: [...pending.values()],
          };
        }
        await log.wait(runLog(runId), { after: cursor, limit: 1, timeoutMs: setup.waitMs, signal: options.signal });
      }
    },

    check,

    async pipe(runId, stream, options = {}) {
      const after = options.after ?? stream.lastEventId;
      try {
        for await (const event of events(runId, { after, signal: stream.signal })) {
          const { id, ...shown } = event;
          await stream.send({ id, data: JSON.stringify(shown) });
        }
      } catch (error) {
        // The client left, or the stream was ended at drain: the client resumes where it was.
        if (!stream.signal.aborted) throw error;
      }
    },

    retryMs: setup.retryMs,

    async cancel(runId, options = {}) {
      await check(runId);
      const event: RunEvent = { type: "cancel_requested", reason: options.reason ?? "cancelled by the user" };
      await log.append(controlLog(runId), JSON.stringify(event));
      await Promise.all([log.expire(controlLog(runId), setup.runTtlMs), enqueue(runId)]);
    },

    async approve(runId, decision) {
      const refuse = (reason: string) => agentErrors.create("TF_AGENT_APPROVAL_INVALID", { reason });
      if (typeof decision?.approved !== "boolean") {
        throw agentErrors.create("TF_AGENT_BAD_REQUEST", { reason: "a decision needs `approved`, true or false" });
      }
      const request = await signer.verify(decision.request);
      if (request === undefined) throw refuse("the request is not one this app signed, or it was changed");
      if (request.run_id !== runId) throw refuse("the request is for another run");
      if (request.expires_at <= Date.now()) throw refuse("the request expired");
      await check(runId);
      const state = await loadState(log, runId);
      if (state.terminal) throw agentErrors.create("TF_AGENT_APPROVAL_DECIDED", { callId: request.call_id });
      if (state.decisions.has(request.call_id)) {
        throw agentErrors.create("TF_AGENT_APPROVAL_DECIDED", { callId: request.call_id });
      }
      const event: RunEvent = { type: "approval", call_id: request.call_id, approved: decision.approved };
      await log.append(runLog(runId), JSON.stringify(event));
      await enqueue(runId);
      return { callId: request.call_id };
    },

    async respond(request, runId) {
      const result = await api.result(runId, { signal: request.signal });
      return Response.json(
        {
          run_id: runId,
          status: result.status,
          response: result.text,
          message_id: result.messageId,
          usage: result.usage,
          approvals: result.approvals.map(({ call, request: signed, expires_at }) => ({
            call,
            request: signed,
            expires_at,
          })),
          reason: result.reason,
        },
        { headers: { "x-run-id": runId } },
      );
    },
  };
  return api;
}
