import type {
  ChatCallOptions,
  ChatChunk,
  ChatMessage,
  ChatModel,
  ChatRequest,
  ChatResponse,
  ToolCall,
  ToolDefinition,
} from "@twelvefold/kernel";
import { stableHash } from "./hash.ts";
import { sleep } from "./retry.ts";

/** Options of {@link localModel}. */
export interface LocalModelOptions {
  /** Model name; it always starts with `local` so dashboards and logs never mistake it for a real one. */
  readonly model?: string;
  /** Pause between streamed tokens, to look like a real model in a browser (default 0: no timer at all). */
  readonly tokenDelayMs?: number;
}

/** What the local model understood a user to ask for. */
type Intent =
  | { readonly kind: "arithmetic"; readonly expression: string }
  | { readonly kind: "time"; readonly zone: string | undefined }
  | { readonly kind: "remember"; readonly fact: string }
  | { readonly kind: "recall"; readonly query: string };

const toolHints: Readonly<Record<Intent["kind"], RegExp>> = {
  arithmetic: /calc|arith|math|expression|compute/i,
  time: /\btime\b|clock|date/i,
  remember: /remember|save|store|memori[sz]e/i,
  recall: /recall|retriev|look ?up|search|memor/i,
};

const argumentHints: Readonly<Record<Intent["kind"], RegExp>> = {
  arithmetic: /expr|formula|input|query/i,
  time: /zone|tz/i,
  remember: /fact|text|content|note|memory|value/i,
  recall: /query|topic|about|key|text/i,
};

const cities: Readonly<Record<string, string>> = {
  tokyo: "Asia/Tokyo",
  london: "Europe/London",
  paris: "Europe/Paris",
  berlin: "Europe/Berlin",
  "new york": "America/New_York",
  "los angeles": "America/Los_Angeles",
  sydney: "Australia/Sydney",
  utc: "UTC",
};

const numberWords: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bmultiplied by\b|\btimes\b/gi, "*"],
  [/\bdivided by\b|\bover\b/gi, "/"],
  [/\bplus\b/gi, "+"],
  [/\bminus\b/gi, "-"],
];

/** Splits text into tokens that keep their leading whitespace, so the tokens join back into the text. */
export function tokens(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

function countTokens(messages: readonly ChatMessage[]): number {
  let n = 0;
  for (const m of messages) {
    n += tokens(m.content).length + 1;
    if (m.role === "assistant") for (const call of m.toolCalls ?? []) n += tokens(call.arguments).length + 1;
  }
  return n;
}

function findExpression(clause: string): string | undefined {
  let text = clause;
  for (const [pattern, symbol] of numberWords) text = text.replace(pattern, symbol);
  const match = text.match(/[-(]*\s*\d[\d.\s]*(?:[-+*/^%×÷]\s*[-(]*\s*\d[\d.\s)]*)+/);
  return match ? match[0].replace(/×/g, "*").replace(/÷/g, "/").trim().replace(/\s+/g, " ") : undefined;
}

function findZone(clause: string): string | undefined {
  const iana = clause.match(/\b[A-Z][A-Za-z]+\/[A-Z][A-Za-z_]+(?:\/[A-Z][A-Za-z_]+)?\b/);
  if (iana) return iana[0];
  const lower = clause.toLowerCase();
  for (const [city, zone] of Object.entries(cities)) if (new RegExp(`\\b${city}\\b`).test(lower)) return zone;
  return undefined;
}

/** What each clause of the user's message asks for, in order. */
function intents(text: string): Intent[] {
  const found: Intent[] = [];
  for (const raw of text.split(/(?<=[.?!])\s+|\s+and\s+(?=what|how|remember|recall|tell|calculate|compute)/i)) {
    const clause = raw.trim();
    if (!clause) continue;
    const remember = clause.match(/^(?:please\s+)?remember(?:\s+that)?\s+(.+?)[.!]?$/i);
    if (remember && !/^(?:please\s+)?remember\s+(?:what|when|who|if)\b/i.test(clause)) {
      found.push({ kind: "remember", fact: (remember[1] as string).trim() });
      continue;
    }
    const recall = clause.match(
      /\b(?:recall|what do you (?:remember|know)|do you remember|what did i tell you)\b(?:\s+(?:about|of|regarding))?\s*(.*?)[?.!]?$/i,
    );
    if (recall) {
      found.push({ kind: "recall", query: (recall[1] as string).trim() });
      continue;
    }
    const expression = findExpression(clause);
    if (expression) {
      found.push({ kind: "arithmetic", expression });
      continue;
    }
    if (/\bwhat time\b|\bthe time\b|\bclock\b|\bwhat day\b|\btoday'?s date\b/i.test(clause)) {
      found.push({ kind: "time", zone: findZone(clause) });
    }
  }
  return found;
}

function toolFor(intent: Intent, tools: readonly ToolDefinition[]): ToolDefinition | undefined {
  const hint = toolHints[intent.kind];
  const matches = tools.filter((t) => hint.test(t.name) || hint.test(t.description));
  // "memory" matches both remembering and recalling: prefer the tool that is not the other one's.
  const other = intent.kind === "recall" ? toolHints.remember : intent.kind === "remember" ? toolHints.recall : null;
  return matches.find((t) => !other?.test(t.name)) ?? matches[0];
}

function propertiesOf(tool: ToolDefinition): string[] {
  const properties = tool.parameters.properties;
  return properties && typeof properties === "object" ? Object.keys(properties) : [];
}

function argumentsFor(intent: Intent, tool: ToolDefinition): string {
  const names = propertiesOf(tool);
  const name = names.find((n) => argumentHints[intent.kind].test(n)) ?? (intent.kind === "time" ? undefined : names[0]);
  const value =
    intent.kind === "arithmetic"
      ? intent.expression
      : intent.kind === "remember"
        ? intent.fact
        : intent.kind === "recall"
          ? intent.query
          : intent.zone;
  const required = Array.isArray(tool.parameters.required) ? (tool.parameters.required as string[]) : [];
  if (name === undefined) return "{}";
  if (value === undefined) return required.includes(name) ? JSON.stringify({ [name]: "UTC" }) : "{}";
  return JSON.stringify({ [name]: value });
}

function readResult(content: string): { ok: boolean; text: string } {
  try {
    const parsed: unknown = JSON.parse(content);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      const record = parsed as Record<string, unknown>;
      if (typeof record.error === "string") return { ok: false, text: record.error };
      const value = record.result ?? record.value ?? record.time ?? record.facts ?? record.text;
      if (value !== undefined) return { ok: true, text: Array.isArray(value) ? value.join("; ") : String(value) };
    }
    return { ok: true, text: typeof parsed === "string" ? parsed : JSON.stringify(parsed) };
  } catch {
    return { ok: true, text: content };
  }
}

function phrase(intent: Intent | undefined, tool: string, content: string): string {
  const { ok, text } = readResult(content);
  if (!ok) return `I could not use ${tool}: ${text}.`;
  switch (intent?.kind) {
    case "arithmetic":
      return `${intent.expression} = ${text}.`;
    case "time":
      return `The time${intent.zone ? ` in ${intent.zone}` : ""} is ${text}.`;
    case "remember":
      return `I will remember that ${intent.fact}.`;
    case "recall":
      return text.trim() ? `Here is what I remember: ${text}.` : "I do not remember anything about that.";
    default:
      return `${tool} says: ${text}.`;
  }
}

function plainReply(text: string): string {
  if (/\b(hello|hi|hey|greet)\b/i.test(text)) return "Hello from the local model!";
  return `You said: "${text.length > 120 ? `${text.slice(0, 117)}...` : text}". I am the local deterministic model, and I answer the same way every time.`;
}

interface Answer {
  readonly content: string;
  readonly toolCalls: readonly ToolCall[];
}

/** The local model's whole reasoning: a pure function of the request. */
function answer(request: ChatRequest): Answer {
  const { messages } = request;
  let lastUser = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === "user") {
      lastUser = i;
      break;
    }
  }
  const question = lastUser >= 0 ? (messages[lastUser] as ChatMessage).content : "";
  const asked = intents(question);
  const after = messages.slice(lastUser + 1);
  const results = new Map<string, string>();
  for (const m of after) if (m.role === "tool") results.set(m.toolCallId, m.content);
  const calls = after.flatMap((m) => (m.role === "assistant" ? (m.toolCalls ?? []) : []));
  if (results.size > 0) {
    // Each call was made for one intent, in order: match them back up to phrase the answer.
    const tools = request.tools ?? [];
    const planned = asked.filter((intent) => toolFor(intent, tools));
    const lines = calls.map((call, i) => {
      const intent = planned[i];
      const matches = intent !== undefined && toolFor(intent, tools)?.name === call.name;
      return phrase(matches ? intent : undefined, call.name, results.get(call.id) ?? "");
    });
    return { content: lines.join(" "), toolCalls: [] };
  }
  const toolCalls: ToolCall[] = [];
  for (const intent of asked) {
    const tool = toolFor(intent, request.tools ?? []);
    if (!tool) continue;
    const args = argumentsFor(intent, tool);
    toolCalls.push({
      id: `call_${toolCalls.length + 1}_${stableHash(`${question}\u0000${tool.name}\u0000${args}`)}`,
      name: tool.name,
      arguments: args,
    });
  }
  if (toolCalls.length > 0) return { content: "", toolCalls };
  if (asked.length > 0) return { content: "I would need a tool for that, and none that fits was offered.", toolCalls };
  return { content: plainReply(question), toolCalls };
}

function respond(model: string, request: ChatRequest): ChatResponse {
  const { content, toolCalls } = answer(request);
  const all = tokens(content);
  const limit = request.maxTokens ?? Number.POSITIVE_INFINITY;
  const kept = all.length > limit ? all.slice(0, limit) : all;
  const truncated = kept.length < all.length;
  const callTokens = toolCalls.reduce((n, c) => n + tokens(c.arguments).length + 1, 0);
  return {
    model,
    content: kept.join(""),
    toolCalls: truncated ? [] : toolCalls,
    finishReason: truncated ? "length" : toolCalls.length > 0 ? "tool_calls" : "stop",
    usage: { inputTokens: countTokens(request.messages), outputTokens: kept.length + (truncated ? 0 : callTokens) },
  };
}

/**
 * The local deterministic model: no network, no weights, the same answer for the same request.
 * It streams token by token, and when a message asks for arithmetic, the time, remembering or
 * recalling a fact, and a tool offered for that matches by name or description, it calls the
 * tool (several at once for several asks), then phrases an answer from the results. It is the
 * embedded default, so an app runs its whole agent loop with nothing configured.
 *
 * @example
 * ```ts
 * const model = localModel();
 * const reply = await model.complete({ messages: [{ role: "user", content: "What is 6 * 7?" }], tools: [calculator.definition] });
 * reply.toolCalls[0]; // { id: "call_1_…", name: "calculator", arguments: '{"expression":"6 * 7"}' }
 * ```
 */
export function localModel(options: LocalModelOptions = {}): ChatModel {
  const name = options.model ?? "local-deterministic";
  const model = name.startsWith("local") ? name : `local-${name}`;
  const delay = options.tokenDelayMs ?? 0;
  return {
    provider: "local",
    model,
    async complete(request: ChatRequest, call?: ChatCallOptions): Promise<ChatResponse> {
      call?.signal?.throwIfAborted();
      await null;
      call?.signal?.throwIfAborted();
      return respond(model, request);
    },
    async *stream(request: ChatRequest, call?: ChatCallOptions): AsyncGenerator<ChatChunk> {
      const signal = call?.signal;
      signal?.throwIfAborted();
      const response = respond(model, request);
      for (const token of tokens(response.content)) {
        if (delay > 0) await sleep(delay, signal);
        else await null;
        signal?.throwIfAborted();
        yield { type: "text", text: token };
      }
      for (const toolCall of response.toolCalls) yield { type: "tool_call", call: toolCall };
      await null;
      signal?.throwIfAborted();
      yield { type: "done", finishReason: response.finishReason, usage: response.usage, model };
    },
  };
}
