/**
 * The worker side of a run: takes the run's lock, rebuilds where the run is from its log, and
 * drives the agent loop from there, appending every event to the log as it comes.
 */
import {
  type ChatMessage,
  type ChatModel,
  type EventLog,
  type Lease,
  type Lock,
  type Logger,
  quote,
  type ServiceReader,
  type ToolCall,
  TwelvefoldError,
} from "@twelvefold/kernel";
import { type ApprovalSigner, approvalRequest } from "./approval.ts";
import type { ConversationStore } from "./conversation.ts";
import { agentErrors } from "./errors.ts";
import { controlLog, parseEvent, type RunEvent, type RunUsage, runLog } from "./events.ts";
import type { AgentLoop, LoopTool, LoopToolContext, RunTools } from "./loop.ts";
import { replayModel } from "./replay.ts";
import { freshTurn, loadState, messagesSoFar, type RunState, turnWasCut } from "./state.ts";

/** What a run's attempt is told by whoever hands it the job (the worker). */
export interface AttemptContext {
  /** Aborts when the delivery lost its lease or the worker's drain deadline passed. */
  readonly signal: AbortSignal;
  /** 1 on the first delivery of this job. */
  readonly attempt: number;
  /**
   * The job's deliveries. The last one is not an attempt at the run: it comes only when every
   * attempt before it failed or died with its worker, and it ends the run with `failed`.
   */
  readonly maxAttempts: number;
  /** Hands the job back for later without counting the attempt (another worker holds the run). */
  readonly release?: (delayMs: number) => Promise<unknown>;
}

/** How the engine is set up. */
export interface EngineSetup {
  readonly log: EventLog;
  readonly lock: Lock;
  readonly loop: AgentLoop;
  /** The app's model: a resumed run replays its last finished turn through it (without one, the turn runs again). */
  readonly model?: ChatModel;
  /** The tools, or a function making them for each run (from its user and conversation). */
  readonly tools: RunTools;
  /** The app's services, for tools made per run. */
  readonly services?: ServiceReader;
  /** Names of the tools that need a person's approval before they run. */
  readonly approval: ReadonlySet<string>;
  readonly signer: ApprovalSigner;
  readonly conversations?: ConversationStore;
  /** A system message the run starts with. */
  readonly instructions?: string;
  readonly logger: Logger;
  readonly maxSteps: number;
  /** 0: no limit. */
  readonly maxTokens: number;
  readonly eventsTtlMs: number;
  readonly approvalTtlMs: number;
  readonly lockTtlMs: number;
  readonly waitMs: number;
}

/** Why the engine stopped the loop itself. */
class Stop {
  constructor(
    readonly kind: "pause" | "cancel" | "tokens" | "lost" | "finished",
    readonly detail = "",
  ) {}
}

/** The calls of the step in hand, so the run pauses once every one has a result or awaits a decision. */
class StepCalls {
  readonly calls = new Map<string, { readonly step: number; readonly call: ToolCall }>();
  readonly resulted = new Set<string>();
  readonly awaiting = new Set<string>();

  constructor(readonly stop: AbortController) {}

  next(): void {
    this.calls.clear();
    this.resulted.clear();
    this.awaiting.clear();
  }

  check(): void {
    if (this.awaiting.size === 0) return;
    for (const id of this.calls.keys()) if (!this.resulted.has(id) && !this.awaiting.has(id)) return;
    this.stop.abort(new Stop("pause"));
  }
}

const add = (a: RunUsage, b: { inputTokens: number; outputTokens: number }): RunUsage => ({
  input_tokens: a.input_tokens + b.inputTokens,
  output_tokens: a.output_tokens + b.outputTokens,
});

/**
 * Runs runs. One call of {@link RunEngine.run} is one attempt: a crash, a lost lease or a retry
 * leaves the log as the checkpoint, and the next attempt (on any worker) carries on from the last
 * finished step: a turn that was cut is retracted with `reset` and runs again; a turn that
 * finished but whose tools did not is replayed from the log, so its calls keep their ids, and
 * side-effect results the loop recorded are reused instead of run again.
 */
export class RunEngine {
  readonly #setup: EngineSetup;

  constructor(setup: EngineSetup) {
    this.#setup = setup;
  }

  /**
   * One attempt at run `runId`: resolves when the run ended, paused for an approval, or is in
   * another worker's hands (the job was released); rejects to have the job retried.
   */
  async run(runId: string, context: AttemptContext): Promise<void> {
    const { lock, lockTtlMs, logger } = this.#setup;
    const lease = await lock.acquire(`agent:lock:${runId}`, lockTtlMs);
    if (lease === undefined) {
      // Another worker has it (a cancel or an approval arrived while it runs): come back later.
      if (context.release) {
        await context.release(Math.ceil(lockTtlMs / 4));
        return;
      }
      throw agentErrors.create("TF_AGENT_RUN_BUSY", { runId });
    }
    const stop = new AbortController();
    const heartbeat = setInterval(() => {
      lock.extend(lease, lockTtlMs).then(
        (held) => {
          if (held === undefined) stop.abort(new Stop("lost"));
        },
        (error: unknown) => logger.warn("agent: cannot renew the run's lock", { run_id: runId, error }),
      );
    }, lockTtlMs / 3);
    // The job was handed on (its lease lapsed) or the drain deadline passed: stop, and stop
    // renewing the lock, so that the worker that gets the job next can take the run.
    const onJobAbort = () => {
      clearInterval(heartbeat);
      stop.abort(context.signal.reason);
    };
    if (context.signal.aborted) onJobAbort();
    context.signal.addEventListener("abort", onJobAbort, { once: true });
    try {
      await this.#attempt(runId, stop, context);
    } finally {
      clearInterval(heartbeat);
      context.signal.removeEventListener("abort", onJobAbort);
      if (!stop.signal.aborted) stop.abort(new Stop("finished"));
      await this.#release(lease);
    }
  }

  async #release(lease: Lease): Promise<void> {
    await this.#setup.lock.release(lease).catch((error: unknown) => {
      this.#setup.logger.warn("agent: cannot release a lock; it lapses by itself", { key: lease.key, error });
    });
  }

  async #append(runId: string, event: RunEvent): Promise<string> {
    return this.#setup.log.append(runLog(runId), JSON.stringify(event));
  }

  async #attempt(runId: string, stop: AbortController, context: AttemptContext): Promise<void> {
    const setup = this.#setup;
    const { logger } = setup;
    const state = await loadState(setup.log, runId);
    if (context.attempt >= context.maxAttempts) return this.#outOfAttempts(runId, state, context);
    if (state.terminal) return;
    if (state.input === undefined) {
      logger.warn("agent: a run's log holds no input (expired or never written): nothing to run", { run_id: runId });
      return;
    }
    logger.info("agent: working on a run", { run_id: runId, attempt: context.attempt, step: state.nextStep });
    if (state.cancel !== undefined) return this.#end(runId, state, { type: "cancelled", reason: state.cancel });
    if (state.context === undefined) {
      const { conversation, messages } = state.input;
      const history =
        conversation !== undefined && setup.conversations
          ? await setup.conversations.load(conversation, { signal: stop.signal })
          : [];
      const system: ChatMessage[] = setup.instructions ? [{ role: "system", content: setup.instructions }] : [];
      state.context = [...system, ...history, ...messages];
      await this.#append(runId, { type: "context", messages: state.context });
    }
    if (state.answer !== undefined || state.nextStep >= setup.maxSteps) {
      // Every step is done (a worker stopped between the last step and `done`): end it, asking the model nothing.
      const reason = state.answer === undefined ? "max_steps" : "stop";
      const text = state.answer ?? "";
      return this.#finish(runId, state, { type: "done", reason, text, steps: state.nextStep, usage: state.usage });
    }
    // A turn cut mid-stream runs again; so does a finished one when there is no model to replay it through.
    if (turnWasCut(state.turn) || (state.turn.finished !== undefined && setup.model === undefined)) {
      const { step } = state.turn;
      await this.#append(runId, { type: "reset", step, reason: "the worker running this step stopped: it runs again" });
      state.turn = freshTurn(step);
    }
    const turn = state.turn;
    const replaying = turn.finished === undefined ? undefined : { ...turn, finished: turn.finished };
    if (replaying) {
      const undecided = replaying.calls.some(
        (c) => replaying.requested.has(c.id) && !replaying.results.has(c.id) && !state.decisions.has(c.id),
      );
      // Paused for an approval that has not come: nothing to do until it does.
      if (undecided) return;
    }
    void this.#watch(runId, state.lastControlId, stop);

    const calls = new StepCalls(stop);
    let usage = { ...state.usage };
    /** The text of the turn in hand, and of the last finished one (the answer when a limit stops the run). */
    let stepText = "";
    let answer = { text: state.lastText, steps: state.nextStep };
    let done: Extract<RunEvent, { type: "done" }> | undefined;
    let failure: unknown;
    try {
      const events = setup.loop.run({
        messages: messagesSoFar(state),
        tools: this.#tools(runId, state, calls),
        runId,
        firstStep: state.nextStep,
        maxSteps: setup.maxSteps,
        signal: stop.signal,
        model: replaying && setup.model ? replayModel(setup.model, replaying) : setup.model,
      });
      // Events of the replayed turn are in the log already; only what comes after it is new.
      const replayed = replaying?.step;
      for await (const event of events) {
        switch (event.type) {
          case "text":
            stepText += event.text;
            if (event.step !== replayed) await this.#append(runId, event);
            break;
          case "tool_call":
            calls.calls.set(event.call.id, { step: event.step, call: event.call });
            if (event.step !== replayed) await this.#append(runId, event);
            break;
          case "tool_result":
            calls.resulted.add(event.callId);
            if (!(event.step === turn.step && turn.results.has(event.callId))) {
              const { step, callId, name, ok, content } = event;
              await this.#append(runId, { type: "tool_result", step, call_id: callId, name, ok, content });
            }
            calls.check();
            break;
          case "usage":
            answer = { text: stepText, steps: event.step + 1 };
            if (event.step === replayed) break;
            usage = add(usage, event.usage);
            state.turns[event.step] = {
              step: event.step,
              model: event.model,
              usage: { input_tokens: event.usage.inputTokens, output_tokens: event.usage.outputTokens },
            };
            await this.#append(runId, {
              type: "usage",
              step: event.step,
              model: event.model,
              usage: { input_tokens: event.usage.inputTokens, output_tokens: event.usage.outputTokens },
            });
            if (setup.maxTokens > 0 && usage.input_tokens + usage.output_tokens >= setup.maxTokens) {
              stop.abort(new Stop("tokens"));
            }
            break;
          case "reset":
            stepText = "";
            await this.#append(runId, event);
            break;
          case "step":
            await this.#append(runId, { type: "step", step: event.step, added: event.added });
            state.added[event.step] = [...event.added];
            calls.next();
            stepText = "";
            break;
          case "done":
            done = {
              type: "done",
              reason: event.reason,
              text: event.text,
              steps: event.steps,
              usage,
            };
            break;
        }
        if (stop.signal.aborted) break;
      }
    } catch (error) {
      failure = error;
    }

    const reason: unknown = stop.signal.aborted ? stop.signal.reason : undefined;
    if (reason instanceof Stop) {
      switch (reason.kind) {
        case "pause":
          logger.info("agent: run paused for an approval", { run_id: runId });
          return;
        case "cancel":
          return this.#end(runId, state, { type: "cancelled", reason: reason.detail });
        case "tokens": {
          await this.#append(runId, {
            type: "limit",
            limit: "tokens",
            max: setup.maxTokens,
            used: usage.input_tokens + usage.output_tokens,
          });
          return this.#finish(runId, state, { type: "done", reason: "max_tokens", ...answer, usage });
        }
        case "lost":
          // Another worker may hold the run now: write nothing more.
          logger.warn("agent: lost the run's lock mid-run; leaving it to the worker that has it", { run_id: runId });
          return;
      }
    }
    if (stop.signal.aborted) {
      // The job's own signal: its lease lapsed or the drain deadline passed. The log is the checkpoint.
      throw failure ?? reason;
    }
    if (done) return this.#finish(runId, state, done);
    const error =
      failure ?? agentErrors.create("TF_AGENT_RUN_FAILED", { runId, reason: "the loop ended without a done event" });
    if (context.attempt < context.maxAttempts - 1) throw error;
    logger.error("agent: run failed on its last attempt", { run_id: runId, attempt: context.attempt, error });
    const shown =
      error instanceof TwelvefoldError
        ? { code: error.code, message: error.message }
        : { code: "TF_AGENT_RUN_FAILED", message: "agent: the run failed" };
    await this.#end(runId, state, { type: "failed", ...shown });
    throw error;
  }

  /**
   * The job's last delivery: every attempt before it failed or died with its worker (killed, say,
   * on each), so nothing ended the run. It runs nothing: it ends the run with `failed`, so every
   * stream following it ends, and throws, so the job goes to the dead letters. A run that ended
   * otherwise (its last attempt finished, but died before the ack) is left as it is.
   */
  async #outOfAttempts(runId: string, state: RunState, context: AttemptContext): Promise<void> {
    const terminal = state.terminal?.type;
    if (terminal === "done" || terminal === "cancelled") return;
    const attempts = context.maxAttempts - 1;
    const error = agentErrors.create("TF_AGENT_RUN_FAILED", {
      runId,
      reason: `no attempt of ${attempts} finished it (each failed, or its worker stopped)`,
    });
    if (terminal === undefined && state.input !== undefined) {
      this.#setup.logger.error("agent: run out of attempts", { run_id: runId, attempts });
      await this.#end(runId, state, { type: "failed", code: error.code, message: error.message });
    }
    throw error;
  }

  /** Saves the exchange in the conversation, then ends the run with `done`. */
  async #finish(runId: string, state: RunState, done: Extract<RunEvent, { type: "done" }>): Promise<void> {
    const setup = this.#setup;
    const input = state.input;
    let event = done;
    if (done.reason === "max_steps") {
      await this.#append(runId, { type: "limit", limit: "steps", max: setup.maxSteps, used: done.steps });
    }
    if (input?.conversation !== undefined && setup.conversations) {
      const saved = await setup.conversations.save(input.conversation, {
        runId,
        user: input.user,
        input: input.messages,
        messages: state.added.flat(),
        reply: done.text,
        usage: done.usage,
        turns: state.turns.filter((turn) => turn !== undefined),
      });
      if (saved.messageId !== undefined) event = { ...event, message_id: saved.messageId };
    }
    await this.#end(runId, state, event);
  }

  /** Appends the terminal event, lets the logs expire, and frees the user's slot. */
  async #end(runId: string, state: RunState, event: RunEvent): Promise<void> {
    const setup = this.#setup;
    // The slot first: a client that sees the run end may start its next one at once.
    const slot = state.input?.slot;
    if (slot) await this.#release({ ...slot, expiresAt: 0 });
    await this.#append(runId, event);
    const ended: RunEvent = { type: "ended" };
    await setup.log.append(controlLog(runId), JSON.stringify(ended));
    await Promise.all([
      setup.log.expire(runLog(runId), setup.eventsTtlMs),
      setup.log.expire(controlLog(runId), setup.eventsTtlMs),
    ]);
    setup.logger.info("agent: run ended", { run_id: runId, outcome: event.type });
  }

  /** Follows the run's control log while the attempt runs, and stops the loop on a cancel request. */
  async #watch(runId: string, after: string | undefined, stop: AbortController): Promise<void> {
    const { log, waitMs } = this.#setup;
    let cursor = after;
    while (!stop.signal.aborted) {
      let events: Awaited<ReturnType<EventLog["wait"]>>;
      try {
        events = await log.wait(controlLog(runId), { after: cursor, timeoutMs: waitMs, signal: stop.signal });
      } catch (error) {
        if (!stop.signal.aborted) this.#setup.logger.warn("agent: cannot follow a run's control log", { error });
        return;
      }
      for (const { id, data } of events) {
        cursor = id;
        const event = parseEvent(id, data);
        if (event?.type === "cancel_requested") {
          stop.abort(new Stop("cancel", event.reason));
          return;
        }
      }
    }
  }

  /** The tools, those that need approval wrapped to pause the run until a decision is in. */
  #tools(runId: string, state: RunState, calls: StepCalls): LoopTool[] {
    const setup = this.#setup;
    const input = state.input;
    const tools =
      typeof setup.tools === "function"
        ? setup.tools(
            { runId, user: input?.user ?? "", conversation: input?.conversation },
            setup.services ?? { get: missing, find: () => undefined },
          )
        : setup.tools;
    return tools.map((tool) => {
      if (!setup.approval.has(tool.name)) return tool;
      const wrapped: LoopTool = {
        ...tool,
        run: async (input: never, context: LoopToolContext) => {
          const decision = state.decisions.get(context.callId);
          if (decision === true) return tool.run(input, context);
          if (decision === false) return JSON.stringify({ error: `the user declined to run ${quote(tool.name)}` });
          const held = calls.calls.get(context.callId);
          if (held && !state.turn.requested.has(context.callId)) {
            const expiresAt = Date.now() + setup.approvalTtlMs;
            const request = await setup.signer.sign(approvalRequest(runId, held.step, held.call, expiresAt));
            state.turn.requested.add(context.callId);
            await this.#append(runId, {
              type: "approval_required",
              step: held.step,
              call: held.call,
              request,
              expires_at: expiresAt,
            });
          }
          calls.awaiting.add(context.callId);
          calls.check();
          // Pending until the run pauses (every other call of the step is done), which aborts this.
          return new Promise((_, reject) => {
            const { signal } = context;
            if (signal.aborted) reject(signal.reason);
            signal.addEventListener("abort", () => reject(signal.reason), { once: true });
          });
        },
      };
      return wrapped;
    });
  }
}

function missing(needed: { readonly id: string }): never {
  throw agentErrors.create("TF_AGENT_CONFIG", {
    reason: `no service ${JSON.stringify(needed.id)} for the run's tools`,
  });
}
