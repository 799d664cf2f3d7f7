/**
 * A run's state, rebuilt from its event log. The log is the checkpoint: every finished model
 * turn (`usage`), tool result and step (`step`) is an event, so a worker that takes a run over
 * after a crash reads the log and knows what is done, what was cut and what to do next.
 */
import type { ChatMessage, EventLog, ToolCall } from "@twelvefold/kernel";
import {
  controlLog,
  isTerminal,
  type LoggedEvent,
  parseEvent,
  type RunEvent,
  type RunUsage,
  runLog,
} from "./events.ts";

type Input = Extract<RunEvent, { type: "input" }>;

/** The model turn of the step the run is at: what the log holds of it since its last reset. */
export interface Turn {
  readonly step: number;
  text: string;
  readonly calls: ToolCall[];
  /** Set once the turn finished (its `usage` event is in the log). */
  finished: { readonly model: string; readonly usage: RunUsage } | undefined;
  /** Tool results of this step already in the log, by call id. */
  readonly results: Set<string>;
  /** Calls of this step whose approval was requested. */
  readonly requested: Set<string>;
}

/** Everything a worker needs to carry a run on. */
export interface RunState {
  input: Input | undefined;
  /** The messages the run started from. */
  context: readonly ChatMessage[] | undefined;
  /** Messages added by each finished step, in step order. */
  readonly added: ChatMessage[][];
  /** The step after the last finished one. */
  nextStep: number;
  turn: Turn;
  /** Decisions on calls that needed approval, by call id. */
  readonly decisions: Map<string, boolean>;
  /** Set when someone asked to cancel. */
  cancel: string | undefined;
  terminal: LoggedEvent | undefined;
  /** Tokens of every finished turn. */
  usage: { input_tokens: number; output_tokens: number };
  /** Each finished turn's model and tokens, by step (a step that ran again counts once). */
  readonly turns: Array<{ readonly step: number; readonly model: string; readonly usage: RunUsage }>;
  /** The text of the last finished turn. */
  lastText: string;
  /** The answer, once a finished step ended without tool calls: the run is done but for its `done` event. */
  answer: string | undefined;
  /** The id of the last event read. */
  lastId: string | undefined;
  /** The id of the last control event read. */
  lastControlId: string | undefined;
}

/** A turn with nothing in it yet. */
export function freshTurn(step: number): Turn {
  return { step, text: "", calls: [], finished: undefined, results: new Set(), requested: new Set() };
}

/** An empty state, before the first event. */
export function emptyState(): RunState {
  return {
    input: undefined,
    context: undefined,
    added: [],
    nextStep: 0,
    turn: freshTurn(0),
    decisions: new Map(),
    cancel: undefined,
    terminal: undefined,
    usage: { input_tokens: 0, output_tokens: 0 },
    turns: [],
    lastText: "",
    answer: undefined,
    lastId: undefined,
    lastControlId: undefined,
  };
}

/** Folds one logged event into the state. */
export function apply(state: RunState, event: LoggedEvent): void {
  state.lastId = event.id;
  if (state.terminal) return;
  const turn = state.turn;
  switch (event.type) {
    case "input":
      state.input = event;
      break;
    case "context":
      state.context = event.messages;
      break;
    case "text":
      if (event.step === turn.step) turn.text += event.text;
      break;
    case "tool_call":
      if (event.step === turn.step) turn.calls.push(event.call);
      break;
    case "usage":
      if (event.step === turn.step) {
        turn.finished = { model: event.model, usage: event.usage };
        state.lastText = turn.text;
      }
      state.turns[event.step] = { step: event.step, model: event.model, usage: event.usage };
      state.usage.input_tokens += event.usage.input_tokens;
      state.usage.output_tokens += event.usage.output_tokens;
      break;
    case "reset":
      if (event.step === turn.step) state.turn = freshTurn(turn.step);
      break;
    case "tool_result":
      if (event.step === turn.step) turn.results.add(event.call_id);
      break;
    case "approval_required":
      if (event.step === turn.step) turn.requested.add(event.call.id);
      break;
    case "approval":
      // The first decision holds: a second one, racing it, changes nothing.
      if (!state.decisions.has(event.call_id)) state.decisions.set(event.call_id, event.approved);
      break;
    case "step": {
      state.added[event.step] = [...event.added];
      const [first] = event.added;
      const final = event.added.length === 1 && first?.role === "assistant" && !first.toolCalls?.length;
      state.answer = final ? first.content : undefined;
      state.nextStep = event.step + 1;
      state.turn = freshTurn(state.nextStep);
      break;
    }
    case "cancel_requested":
      state.cancel ??= event.reason;
      break;
    default:
      if (isTerminal(event)) state.terminal = event;
  }
}

const PAGE = 500;

/** Every event of a log after `after`, page by page. */
export async function* readAll(log: EventLog, name: string, after?: string): AsyncGenerator<LoggedEvent> {
  let cursor = after;
  for (;;) {
    const page = await log.read(name, { after: cursor, limit: PAGE });
    for (const { id, data } of page) {
      cursor = id;
      const event = parseEvent(id, data);
      if (event) yield event;
    }
    if (page.length < PAGE) return;
  }
}

/** Reads a run's logs (its events, then its control log) into its state. */
export async function loadState(log: EventLog, runId: string): Promise<RunState> {
  const state = emptyState();
  for await (const event of readAll(log, runLog(runId))) apply(state, event);
  const last = state.lastId;
  for await (const event of readAll(log, controlLog(runId))) {
    apply(state, event);
    state.lastControlId = event.id;
  }
  state.lastId = last;
  return state;
}

/** The messages the next step starts from: the context, then what each finished step added. */
export function messagesSoFar(state: RunState): ChatMessage[] {
  return [...(state.context ?? []), ...state.added.flat()];
}

/** True when the turn at hand has output in the log but never finished: it was cut. */
export function turnWasCut(turn: Turn): boolean {
  return turn.finished === undefined && (turn.text !== "" || turn.calls.length > 0);
}
