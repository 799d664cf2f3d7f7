import { expect } from "bun:test";
import type {
  ChatChunk,
  ChatModel,
  ChatRequest,
  ChatResponse,
  ChatUsage,
  FinishReason,
  ToolCall,
  ToolDefinition,
} from "@twelvefold/kernel";
import { type AdapterFactory, type Cases, type ContractCase, registerSuite, type SuiteOptions } from "./case.ts";
import { type Fault, type FaultServer, faultServer, faults } from "./fault-server.ts";

/** Options of {@link chatModelContract}: the suite's options plus the model's capabilities. */
export interface ChatModelContractOptions<A extends ChatModel = ChatModel> extends SuiteOptions<A> {
  /** The user message of the plain cases (default: a short greeting request). */
  readonly prompt?: string;
  /**
   * The model answers the same request the same way, so `stream` must match `complete` exactly
   * (true for local deterministic models and recorded fixtures; default false).
   */
  readonly deterministic?: boolean;
  /** Turns on the tool-call cases: a prompt that makes this model call `tool`. */
  readonly toolCall?: { readonly prompt: string; readonly tool: ToolDefinition };
  /**
   * Turns on the resilience cases, which run the adapter against the kit's fault-injecting
   * server ({@link faultServer}), one fresh server per case. They expect an adapter that retries
   * retryable failures (429, 5xx, resets, timeouts) at least once, waits out Retry-After, times
   * out a stream that stalls (its first-chunk and idle timeouts well under a few seconds), never
   * retries once output reached the caller, and does not cut a slow stream that still moves.
   */
  readonly resilience?: {
    /** Builds the adapter against the server's OpenAI-style base URL (`http://127.0.0.1:port/v1`). */
    readonly connect: (baseUrl: string) => ChatModel | Promise<ChatModel>;
    /** The trickle case's pause between events, in ms: well under the adapter's idle timeout (default 50). */
    readonly trickleMs?: number;
  };
}

const finishReasons: readonly FinishReason[] = ["stop", "tool_calls", "length", "content_filter"];

function request(options: ChatModelContractOptions): ChatRequest {
  return {
    messages: [
      { role: "system", content: "You are a terse assistant." },
      { role: "user", content: options.prompt ?? "Say hello in five words or fewer." },
    ],
    maxTokens: 64,
    temperature: 0,
  };
}

function toolRequest(options: ChatModelContractOptions): ChatRequest {
  const { prompt, tool } = options.toolCall as NonNullable<ChatModelContractOptions["toolCall"]>;
  return { messages: [{ role: "user", content: prompt }], tools: [tool], temperature: 0 };
}

function expectUsage(usage: ChatUsage): void {
  for (const figure of [usage.inputTokens, usage.outputTokens]) {
    expect(Number.isInteger(figure)).toBe(true);
    expect(figure).toBeGreaterThanOrEqual(0);
  }
}

function expectResponse(response: ChatResponse): void {
  expect(typeof response.content).toBe("string");
  expect(typeof response.model).toBe("string");
  expect(response.model.length).toBeGreaterThan(0);
  expect(finishReasons).toContain(response.finishReason);
  expect(Array.isArray(response.toolCalls)).toBe(true);
  expectUsage(response.usage);
}

function expectToolCall(call: ToolCall | undefined, tool: ToolDefinition): ToolCall {
  expect(call).toBeDefined();
  const { id, name, arguments: args } = call as ToolCall;
  expect(typeof id).toBe("string");
  expect(id.length).toBeGreaterThan(0);
  expect(name).toBe(tool.name);
  const parsed: unknown = JSON.parse(args);
  expect(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)).toBe(true);
  return call as ToolCall;
}

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function textOf(chunks: readonly ChatChunk[]): string {
  return chunks.map((c) => (c.type === "text" ? c.text : "")).join("");
}

/** Reads a failure's `retryable` and `status` fields, as the contract promises them. */
function failureOf(error: unknown): { retryable: unknown; status: unknown } {
  expect(error).toBeInstanceOf(Error);
  const { retryable, status } = error as { retryable?: unknown; status?: unknown };
  return { retryable, status };
}

/** Starts a fault server with `script`, builds the adapter against it, and closes the server after the case. */
async function faulty(
  options: ChatModelContractOptions,
  defer: (cleanup: () => unknown) => void,
  script: readonly Fault[],
): Promise<{ server: FaultServer; model: ChatModel }> {
  const server = await faultServer({ script });
  defer(() => server.close());
  const connect = options.resilience?.connect as NonNullable<ChatModelContractOptions["resilience"]>["connect"];
  return { server, model: await connect(server.url) };
}

const echoRequest: ChatRequest = { messages: [{ role: "user", content: "resilience check one two" }] };
const echoed = "echo: resilience check one two";

/** The ChatModel contract's cases, as data (see {@link runCase}). */
export const chatModelCases: readonly ContractCase<ChatModel, ChatModelContractOptions>[] = [
  {
    name: "names its provider and model",
    async run(model) {
      expect(typeof model.provider).toBe("string");
      expect(model.provider.length).toBeGreaterThan(0);
      expect(typeof model.model).toBe("string");
      expect(model.model.length).toBeGreaterThan(0);
    },
  },
  {
    name: "complete returns content, model, a finish reason and usage",
    async run(model, _context, options) {
      const response = await model.complete(request(options));
      expectResponse(response);
      expect(response.content.length).toBeGreaterThan(0);
      expect(response.toolCalls).toEqual([]);
      expect(["stop", "length"]).toContain(response.finishReason);
    },
  },
  {
    name: "stream yields text chunks, then exactly one done chunk with usage, last",
    async run(model, _context, options) {
      const chunks = await collect(model.stream(request(options)));
      const done = chunks.filter((c) => c.type === "done");
      expect(done.length).toBe(1);
      expect(chunks.at(-1)?.type).toBe("done");
      const last = chunks.at(-1) as Extract<ChatChunk, { type: "done" }>;
      expectUsage(last.usage);
      expect(last.model.length).toBeGreaterThan(0);
      expect(finishReasons).toContain(last.finishReason);
      expect(textOf(chunks).length).toBeGreaterThan(0);
      for (const chunk of chunks) if (chunk.type === "text") expect(typeof chunk.text).toBe("string");
    },
  },
  {
    name: "stream yields the same text and finish reason as complete",
    needs: "deterministic",
    async run(model, _context, options) {
      const response = await model.complete(request(options));
      const chunks = await collect(model.stream(request(options)));
      expect(textOf(chunks)).toBe(response.content);
      const last = chunks.at(-1) as Extract<ChatChunk, { type: "done" }>;
      expect(last.finishReason).toBe(response.finishReason);
      expect(last.usage).toEqual(response.usage);
    },
  },
  {
    name: "a tool call round-trips: the model calls the tool, then answers the tool's result",
    needs: "toolCall",
    async run(model, _context, options) {
      const tool = options.toolCall?.tool as ToolDefinition;
      const ask = toolRequest(options);
      const first = await model.complete(ask);
      expectResponse(first);
      expect(first.finishReason).toBe("tool_calls");
      const call = expectToolCall(first.toolCalls[0], tool);
      const second = await model.complete({
        ...ask,
        messages: [
          ...ask.messages,
          { role: "assistant", content: first.content, toolCalls: first.toolCalls },
          ...first.toolCalls.map((c) => ({
            role: "tool" as const,
            toolCallId: c.id,
            content: JSON.stringify({ ok: true, for: c.id === call.id ? "first" : "other" }),
          })),
        ],
      });
      expectResponse(second);
    },
  },
  {
    name: "stream yields the tool call as a tool_call chunk and finishes with tool_calls",
    needs: "toolCall",
    async run(model, _context, options) {
      const chunks = await collect(model.stream(toolRequest(options)));
      const calls = chunks.flatMap((c) => (c.type === "tool_call" ? [c.call] : []));
      expectToolCall(calls[0], options.toolCall?.tool as ToolDefinition);
      const last = chunks.at(-1);
      expect(last?.type === "done" && last.finishReason).toBe("tool_calls");
    },
  },
  {
    name: "an aborted signal rejects complete with the signal's reason",
    async run(model, _context, options) {
      const controller = new AbortController();
      const reason = new Error("contract: cancelled by the caller");
      controller.abort(reason);
      await expect(model.complete(request(options), { signal: controller.signal })).rejects.toBe(reason);
    },
  },
  {
    name: "aborting mid-stream ends the stream with the signal's reason and no done chunk",
    async run(model, _context, options) {
      const controller = new AbortController();
      const reason = new Error("contract: cancelled mid-stream");
      const after: ChatChunk[] = [];
      const reading = (async () => {
        for await (const chunk of model.stream(request(options), { signal: controller.signal })) {
          if (controller.signal.aborted) after.push(chunk);
          else controller.abort(reason);
        }
      })();
      await expect(reading).rejects.toBe(reason);
      expect(after.filter((c) => c.type === "done")).toEqual([]);
    },
  },
  {
    name: "resilience: a 500 is retried and the retry answers",
    needs: "resilience",
    async run(_model, context, options) {
      const { server, model } = await faulty(options, context.defer, [faults.serverError(), faults.ok()]);
      const response = await model.complete(echoRequest);
      expect(response.content).toBe(echoed);
      expect(server.requests.map((r) => r.fault)).toEqual(["status", "ok"]);
    },
  },
  {
    name: "resilience: a 429 is retried no sooner than its Retry-After",
    needs: "resilience",
    async run(_model, context, options) {
      const { server, model } = await faulty(options, context.defer, [faults.rateLimited("1"), faults.ok()]);
      expect(textOf(await collect(model.stream(echoRequest)))).toBe(echoed);
      const [first, second] = server.requests;
      expect(server.requests.length).toBe(2);
      // A lower bound only: a loaded machine can make the wait longer, never shorter.
      expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(990);
    },
  },
  {
    name: "resilience: a stall before the first chunk times out, and the retry answers",
    needs: "resilience",
    async run(_model, context, options) {
      // The stall lasts until the client gives up: only a watchdog gets past it.
      const { server, model } = await faulty(options, context.defer, [faults.stallBeforeFirstChunk(), faults.ok()]);
      expect(textOf(await collect(model.stream(echoRequest)))).toBe(echoed);
      expect(server.requests.map((r) => r.fault)).toEqual(["stall_first", "ok"]);
    },
  },
  {
    name: "resilience: a stall mid-stream fails after the partial output, and is not retried",
    needs: "resilience",
    async run(_model, context, options) {
      const { server, model } = await faulty(options, context.defer, [faults.stallMidStream(2), faults.ok()]);
      const chunks: ChatChunk[] = [];
      const reading = (async () => {
        for await (const chunk of model.stream(echoRequest)) chunks.push(chunk);
      })();
      const error = await reading.then(
        () => undefined,
        (e: unknown) => e,
      );
      failureOf(error);
      expect(textOf(chunks)).toBe("echo:");
      expect(chunks.some((c) => c.type === "done")).toBe(false);
      expect(server.requests.length).toBe(1);
    },
  },
  {
    name: "resilience: a malformed chunk before any output is a failure that is retried, not a crash",
    needs: "resilience",
    async run(_model, context, options) {
      const { server, model } = await faulty(options, context.defer, [faults.malformedChunk(1), faults.ok()]);
      expect(textOf(await collect(model.stream(echoRequest)))).toBe(echoed);
      expect(server.requests.map((r) => r.fault)).toEqual(["malformed", "ok"]);
    },
  },
  {
    name: "resilience: a connection reset before the answer is retried",
    needs: "resilience",
    async run(_model, context, options) {
      const { server, model } = await faulty(options, context.defer, [faults.reset(0), faults.ok()]);
      expect((await model.complete(echoRequest)).content).toBe(echoed);
      expect(server.requests.map((r) => r.fault)).toEqual(["reset", "ok"]);
    },
  },
  {
    name: "resilience: a slow trickle that keeps moving is not cut",
    needs: "resilience",
    async run(_model, context, options) {
      const trickle = faults.trickle(options.resilience?.trickleMs ?? 50);
      const { server, model } = await faulty(options, context.defer, [trickle]);
      expect(textOf(await collect(model.stream(echoRequest)))).toBe(echoed);
      expect(server.requests.length).toBe(1);
    },
  },
  {
    name: "resilience: a 400 is not retried, and its failure says so with the status",
    needs: "resilience",
    async run(_model, context, options) {
      const { server, model } = await faulty(options, context.defer, [faults.status(400), faults.ok()]);
      const error = await model.complete(echoRequest).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failureOf(error)).toEqual({ retryable: false, status: 400 });
      expect(server.requests.length).toBe(1);
    },
  },
  {
    name: "resilience: a 429 that persists fails with retryable and the provider's status",
    needs: "resilience",
    async run(_model, context, options) {
      const { server, model } = await faulty(options, context.defer, []);
      server.setFallback(faults.rateLimited("0"));
      const error = await model.complete(echoRequest).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failureOf(error)).toEqual({ retryable: true, status: 429 });
      expect(server.requests.length).toBeGreaterThan(1);
    },
  },
];

/**
 * Registers the ChatModel contract suite for a model adapter. Real providers cost money per
 * case: point it at a recorded fixture server or a local model in CI.
 *
 * @example
 * ```ts
 * import { chatModelContract } from "@twelvefold/testing";
 * chatModelContract("local", () => localModel(), {
 *   deterministic: true,
 *   toolCall: { prompt: "What time is it? Use the clock.", tool: clockTool },
 * });
 * chatModelContract("openai", () => openai(), {
 *   resilience: { connect: (baseUrl) => resilientModel(openaiModel({ model: "m", baseURL: baseUrl }), fastPolicy) },
 * });
 * ```
 */
export function chatModelContract<A extends ChatModel>(
  name: string,
  makeAdapter: AdapterFactory<A>,
  options: ChatModelContractOptions<A> = {},
): void {
  const capabilities = new Set<string>();
  if (options.deterministic) capabilities.add("deterministic");
  if (options.toolCall) capabilities.add("toolCall");
  if (options.resilience) capabilities.add("resilience");
  registerSuite("ChatModel", name, chatModelCases as Cases<A, ChatModelContractOptions<A>>, makeAdapter, {
    ...options,
    capabilities,
  });
}
