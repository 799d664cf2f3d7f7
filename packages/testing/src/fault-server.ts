import { createServer, type Server, type Socket } from "node:net";

/**
 * One way to misbehave, for one request. Streams count their server-sent events from the first,
 * the role-only delta: `afterEvents: 2` lets one word through before the fault.
 */
export type Fault =
  | { readonly kind: "ok" }
  /** An error status with an OpenAI-shaped error body; `retryAfter` is sent as `Retry-After`. */
  | { readonly kind: "status"; readonly status: number; readonly retryAfter?: string }
  /** Headers, then nothing for `ms` (default: until the client goes away), then the answer. */
  | { readonly kind: "stall_first"; readonly ms?: number }
  /** `afterEvents` events, then nothing for `ms` (default: until the client goes away), then the rest. */
  | { readonly kind: "stall_mid"; readonly afterEvents: number; readonly ms?: number }
  /** `afterEvents` events, then one whose data is not JSON, then the rest. */
  | { readonly kind: "malformed"; readonly afterEvents: number }
  /** `afterEvents` events (0: before any response), then the connection is reset. */
  | { readonly kind: "reset"; readonly afterEvents: number }
  /** The whole answer, each event `delayMs` after the last. */
  | { readonly kind: "trickle"; readonly delayMs: number };

/** Builders for each {@link Fault}, so a test reads as what it does. */
export const faults = {
  ok: (): Fault => ({ kind: "ok" }),
  rateLimited: (retryAfter = "1"): Fault => ({ kind: "status", status: 429, retryAfter }),
  serverError: (status = 500): Fault => ({ kind: "status", status }),
  status: (status: number): Fault => ({ kind: "status", status }),
  stallBeforeFirstChunk: (ms?: number): Fault => ({ kind: "stall_first", ms }),
  stallMidStream: (afterEvents = 2, ms?: number): Fault => ({ kind: "stall_mid", afterEvents, ms }),
  malformedChunk: (afterEvents = 1): Fault => ({ kind: "malformed", afterEvents }),
  reset: (afterEvents = 0): Fault => ({ kind: "reset", afterEvents }),
  trickle: (delayMs: number): Fault => ({ kind: "trickle", delayMs }),
};

/** One request the server received. */
export interface FaultRequest {
  /** `performance.now()` when its body had arrived. */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body (`undefined` when it was not JSON). */
  readonly body: unknown;
  /** The fault it was answered with. */
  readonly fault: Fault["kind"];
}

/** What a well-behaved answer to a request is. */
export interface FaultReply {
  readonly content: string;
  readonly toolCalls?: ReadonlyArray<{ readonly id: string; readonly name: string; readonly arguments: string }>;
  readonly model?: string;
}

/** Options of {@link faultServer}. */
export interface FaultServerOptions {
  /** Faults for the next requests, in order; once used up, requests get `fallback`. */
  readonly script?: readonly Fault[];
  /** What requests get when the script is used up (default `ok`). */
  readonly fallback?: Fault;
  /** The well-behaved answer (default: calls the first tool offered to a user message, else echoes). */
  readonly reply?: (body: ChatBody) => FaultReply;
}

/** The parts of a Chat Completions request body the server reads. */
export interface ChatBody {
  readonly model?: string;
  readonly stream?: boolean;
  readonly messages?: ReadonlyArray<{ readonly role: string; readonly content?: string | null }>;
  readonly tools?: ReadonlyArray<{
    readonly function: { readonly name: string; readonly parameters?: { readonly properties?: object } };
  }>;
}

/** A running fault-injecting server. `await using` closes it. */
export interface FaultServer extends AsyncDisposable {
  /** The OpenAI-style base URL, `http://127.0.0.1:<port>/v1`. */
  readonly url: string;
  /** Every request received so far, oldest first. */
  readonly requests: readonly FaultRequest[];
  /** Adds faults to the end of the script. */
  enqueue(...faults: Fault[]): void;
  /** Sets what requests get once the script is used up. */
  setFallback(fault: Fault): void;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

function words(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** The default answer: deterministic, so both a completion and a stream of it can be compared. */
export function defaultReply(body: ChatBody): FaultReply {
  const messages = body.messages ?? [];
  const last = messages.at(-1);
  const tool = body.tools?.[0]?.function;
  if (tool && last?.role === "user") {
    const property = Object.keys(tool.parameters?.properties ?? {})[0];
    const args = property === undefined ? {} : { [property]: last.content ?? "" };
    return {
      content: "",
      toolCalls: [{ id: `call_${messages.length}`, name: tool.name, arguments: JSON.stringify(args) }],
    };
  }
  if (last?.role === "tool") return { content: `The tool said: ${last.content ?? ""}` };
  return { content: `echo: ${last?.content ?? ""}` };
}

const errorBodies: Readonly<Record<number, object>> = {
  429: { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } },
  500: { error: { message: "The server had an error while processing your request", type: "server_error" } },
};

/** The server-sent events of one streamed answer, each a complete `data: ...\n\n` block. */
function events(body: ChatBody, reply: FaultReply): string[] {
  const model = reply.model ?? body.model ?? "fault-model";
  const base = { id: "chatcmpl-fault", object: "chat.completion.chunk", created: 0, model };
  const chunk = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const out = [chunk({ role: "assistant", content: "" })];
  const tokens = words(reply.content);
  for (const token of tokens) out.push(chunk({ content: token }));
  const calls = reply.toolCalls ?? [];
  calls.forEach((call, index) => {
    const half = Math.ceil(call.arguments.length / 2);
    out.push(
      chunk({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }),
    );
    out.push(chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(0, half) } }] }));
    out.push(chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(half) } }] }));
  });
  out.push(chunk({}, calls.length > 0 ? "tool_calls" : "stop"));
  out.push(`data: ${JSON.stringify({ ...base, choices: [], usage: usage(body, reply) })}\n\n`);
  out.push("data: [DONE]\n\n");
  return out;
}

function usage(body: ChatBody, reply: FaultReply) {
  const prompt = (body.messages ?? []).reduce((n, m) => n + words(m.content ?? "").length + 1, 0);
  const completion = words(reply.content).length + (reply.toolCalls ?? []).length * 3;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function completionBody(body: ChatBody, reply: FaultReply): string {
  const calls = reply.toolCalls ?? [];
  return JSON.stringify({
    id: "chatcmpl-fault",
    object: "chat.completion",
    created: 0,
    model: reply.model ?? body.model ?? "fault-model",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: reply.content || null,
          ...(calls.length > 0
            ? {
                tool_calls: calls.map((c) => ({
                  id: c.id,
                  type: "function",
                  function: { name: c.name, arguments: c.arguments },
                })),
              }
            : {}),
        },
        finish_reason: calls.length > 0 ? "tool_calls" : "stop",
      },
    ],
    usage: usage(body, reply),
  });
}

interface Head {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly length: number;
  readonly end: number;
}

function parseHead(buffer: Buffer): Head | undefined {
  const end = buffer.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [line = "", ...lines] = buffer.subarray(0, end).toString("latin1").split("\r\n");
  const [method = "", path = ""] = line.split(" ");
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const colon = l.indexOf(":");
    if (colon > 0) headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
  }
  return { method, path, headers, length: Number(headers["content-length"] ?? 0), end: end + 4 };
}

/** One connection: reads requests one after another (keep-alive) and answers each. */
class Connection {
  readonly #socket: Socket;
  readonly #server: FaultServerImpl;
  #buffer: Buffer = Buffer.alloc(0);
  #busy = false;
  #closed = false;
  readonly #gone: Promise<void>;

  constructor(socket: Socket, server: FaultServerImpl) {
    this.#socket = socket;
    this.#server = server;
    socket.setNoDelay(true);
    this.#gone = new Promise((resolve) => socket.once("close", () => resolve()));
    void this.#gone.then(() => {
      this.#closed = true;
    });
    socket.on("error", () => {});
    socket.on("data", (data: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? data : Buffer.concat([this.#buffer, data]);
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (;;) {
        const head = parseHead(this.#buffer);
        if (!head || this.#buffer.length < head.end + head.length) return;
        const raw = this.#buffer.subarray(head.end, head.end + head.length).toString("utf8");
        this.#buffer = this.#buffer.subarray(head.end + head.length);
        await this.#answer(head, raw);
        if (this.#closed) return;
      }
    } finally {
      this.#busy = false;
    }
  }

  #write(text: string): void {
    if (!this.#closed) this.#socket.write(text);
  }

  /** Waits `ms`, or until the client goes away when `ms` is undefined; false when it went away. */
  async #pause(ms: number | undefined): Promise<boolean> {
    if (ms === undefined) {
      await this.#gone;
      return false;
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, ms)), this.#gone]);
    return !this.#closed;
  }

  #reset(): void {
    this.#closed = true;
    const socket = this.#socket as Socket & { resetAndDestroy?: () => void };
    if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
    else socket.destroy();
  }

  #respond(status: number, type: string, body: string, extra: Record<string, string> = {}): void {
    const head = [
      `HTTP/1.1 ${status} ${status < 400 ? "OK" : "Error"}`,
      `content-type: ${type}`,
      `content-length: ${Buffer.byteLength(body)}`,
    ];
    for (const [name, value] of Object.entries(extra)) head.push(`${name}: ${value}`);
    this.#write(`${head.join("\r\n")}\r\n\r\n${body}`);
  }

  async #answer(head: Head, raw: string): Promise<void> {
    let body: ChatBody | undefined;
    try {
      body = JSON.parse(raw) as ChatBody;
    } catch {
      body = undefined;
    }
    const fault = this.#server.nextFault();
    this.#server.record({
      at: performance.now(),
      method: head.method,
      path: head.path,
      headers: head.headers,
      body,
      fault: fault.kind,
    });
    if (fault.kind === "reset" && fault.afterEvents === 0) return this.#reset();
    if (fault.kind === "status") {
      const extra: Record<string, string> = fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter };
      const error = errorBodies[fault.status] ?? {
        error: { message: `Injected status ${fault.status}`, type: "fault" },
      };
      return this.#respond(fault.status, "application/json", JSON.stringify(error), {
        ...extra,
        "x-request-id": "req_fault",
      });
    }
    if (!body || head.method !== "POST" || !head.path.endsWith("/chat/completions")) {
      return this.#respond(
        404,
        "application/json",
        JSON.stringify({ error: { message: "Not found", type: "invalid_request_error" } }),
      );
    }
    const reply = this.#server.reply(body);
    if (!body.stream) {
      if (fault.kind === "stall_first" || fault.kind === "stall_mid") {
        if (!(await this.#pause(fault.ms))) return;
      }
      if (fault.kind === "reset") return this.#reset();
      const text = fault.kind === "malformed" ? '{"choices": [' : completionBody(body, reply);
      return this.#respond(200, "application/json", text);
    }
    this.#write(
      "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n",
    );
    const send = (text: string) => this.#write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
    if (fault.kind === "stall_first" && !(await this.#pause(fault.ms))) return;
    const all = events(body, reply);
    for (let i = 0; i < all.length; i++) {
      if (this.#closed) return;
      if (fault.kind !== "ok" && fault.kind !== "trickle" && fault.kind !== "stall_first" && i === fault.afterEvents) {
        if (fault.kind === "reset") return this.#reset();
        if (fault.kind === "malformed") send('data: {"choices": [{"delta": {"content": "broken\n\n');
        if (fault.kind === "stall_mid" && !(await this.#pause(fault.ms))) return;
      }
      if (fault.kind === "trickle" && i > 0 && !(await this.#pause(fault.delayMs))) return;
      send(all[i] as string);
    }
    this.#write("0\r\n\r\n");
  }
}

class FaultServerImpl implements FaultServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #script: Fault[];
  readonly #requests: FaultRequest[] = [];
  readonly #reply: (body: ChatBody) => FaultReply;
  #fallback: Fault;
  url = "";

  constructor(options: FaultServerOptions) {
    this.#script = [...(options.script ?? [])];
    this.#fallback = options.fallback ?? faults.ok();
    this.#reply = options.reply ?? defaultReply;
    this.#server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
      new Connection(socket, this);
    });
  }

  get requests(): readonly FaultRequest[] {
    return this.#requests;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => {
        const address = this.#server.address();
        const port = typeof address === "object" && address ? address.port : 0;
        this.url = `http://127.0.0.1:${port}/v1`;
        resolve();
      });
    });
  }

  nextFault(): Fault {
    return this.#script.shift() ?? this.#fallback;
  }

  record(request: FaultRequest): void {
    this.#requests.push(request);
  }

  reply(body: ChatBody): FaultReply {
    return this.#reply(body);
  }

  enqueue(...more: Fault[]): void {
    this.#script.push(...more);
  }

  setFallback(fault: Fault): void {
    this.#fallback = fault;
  }

  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts an OpenAI-protocol (Chat Completions) server on a real loopback socket that misbehaves
 * on demand: a 429 with Retry-After, a 500, a stall before the first chunk, a stall mid-stream,
 * a malformed server-sent event, a connection reset, a slow trickle, or none of these. Point any
 * ChatModel adapter's base URL at `url` to test its resilience; the kit's ChatModel suite does.
 *
 * @example
 * ```ts
 * import { faults, faultServer } from "@twelvefold/testing";
 * await using server = await faultServer({ script: [faults.rateLimited("1"), faults.ok()] });
 * const model = openaiModel({ model: "m", baseURL: server.url });
 * await model.complete(request); // a retrying adapter waits a second, then succeeds
 * expect(server.requests.length).toBe(2);
 * ```
 */
export async function faultServer(options: FaultServerOptions = {}): Promise<FaultServer> {
  const server = new FaultServerImpl(options);
  await server.listen();
  return server;
}
