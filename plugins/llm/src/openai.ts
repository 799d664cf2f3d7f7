import type {
  ChatCallOptions,
  ChatChunk,
  ChatMessage,
  ChatModel,
  ChatRequest,
  ChatResponse,
  ChatUsage,
  FinishReason,
  ToolCall,
} from "@twelvefold/kernel";
import type { OpenAI } from "openai/client";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import { callError, codeForStatus, LlmError, providerDetail, retryAfterMs } from "./errors.ts";

/** Options of {@link openaiModel}. */
export interface OpenAiModelOptions {
  /** The model to ask for (OPENAI_MODEL). */
  readonly model: string;
  /** OPENAI_API_KEY; servers that need none (a local Ollama) may leave it out. */
  readonly apiKey?: string;
  /** OPENAI_BASE_URL (default `https://api.openai.com/v1`), or the URL of another server speaking Chat Completions. */
  readonly baseURL?: string;
  /** Used when a request sets no temperature (TEMPERATURE). */
  readonly temperature?: number;
  /** The client's own per-request timeout, a backstop behind the plugin's watchdog (default 10 minutes). */
  readonly timeoutMs?: number;
  /** `gen_ai.provider.name` (default `"openai"`, the protocol's name). */
  readonly provider?: string;
  /** Replaces `fetch` (tests, proxies). */
  readonly fetch?: typeof fetch;
  /** Extra headers on every request. */
  readonly headers?: Readonly<Record<string, string>>;
}

type Errors = typeof import("openai/error");

interface Loaded {
  readonly client: OpenAI;
  readonly errors: Errors;
}

const DEFAULT_BASE_URL = "https://api.openai.com/v1";

const finishReasons: Readonly<Record<string, FinishReason>> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  function_call: "tool_calls",
  content_filter: "content_filter",
};

function toMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case "system":
    case "user":
      return { role: message.role, content: message.content };
    case "tool":
      return { role: "tool", tool_call_id: message.toolCallId, content: message.content };
    case "assistant": {
      const calls = message.toolCalls ?? [];
      if (calls.length === 0) return { role: "assistant", content: message.content };
      return {
        role: "assistant",
        content: message.content || null,
        tool_calls: calls.map((c) => ({
          id: c.id,
          type: "function",
          function: { name: c.name, arguments: c.arguments },
        })),
      };
    }
  }
}

function usageOf(usage: { prompt_tokens?: number; completion_tokens?: number } | null | undefined): ChatUsage {
  return { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 };
}

/**
 * A ChatModel over the Chat Completions API with the official `openai` package, so it serves
 * OpenAI and the servers that speak the same protocol (vLLM, llama.cpp's server, Ollama,
 * LiteLLM). The package is imported on first use, or by `warm()`, never at start-up of an app
 * that does not use it, and its own retries are off: this adapter makes exactly one attempt
 * and reports every failure as a typed {@link LlmError}; wrap it in `resilientModel` for the
 * retries, watchdog, breaker and fallbacks.
 *
 * @example
 * ```ts
 * const model = openaiModel({ model: "gpt-4o-mini", apiKey: config.OPENAI_API_KEY });
 * for await (const chunk of model.stream({ messages: [{ role: "user", content: "Hi" }] })) render(chunk);
 * ```
 */
export function openaiModel(options: OpenAiModelOptions): ChatModel & { warm(): Promise<void> } {
  const provider = options.provider ?? "openai";
  const { model } = options;
  let loading: Promise<Loaded> | undefined;
  const load = (): Promise<Loaded> => {
    loading ??= (async () => {
      const [{ OpenAI: Client }, errors] = await Promise.all([import("openai/client"), import("openai/error")]);
      const client = new Client({
        // Given explicitly, so the package never falls back to reading the environment itself.
        apiKey: options.apiKey ?? "unused",
        baseURL: options.baseURL ?? DEFAULT_BASE_URL,
        organization: null,
        project: null,
        maxRetries: 0,
        timeout: options.timeoutMs ?? 600_000,
        logLevel: "off",
        fetch: options.fetch,
        defaultHeaders: options.headers,
      });
      return { client, errors };
    })();
    return loading;
  };

  const who = { provider, model };

  function fail(error: unknown, errors: Errors, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    if (error instanceof LlmError) return error;
    const cause = { cause: error };
    if (error instanceof errors.APIUserAbortError) {
      return callError("TF_LLM_CONNECTION", who, "request aborted by the client library", cause);
    }
    if (error instanceof errors.APIConnectionTimeoutError) {
      const ms = options.timeoutMs ?? 600_000;
      return callError("TF_LLM_TIMEOUT", who, `no answer within ${ms} ms`, { ...cause, phase: "deadline" });
    }
    if (error instanceof errors.APIConnectionError) {
      const reason = error.cause instanceof Error ? error.cause.message : error.message;
      return callError("TF_LLM_CONNECTION", who, `connection failed: ${providerDetail(reason)}`, cause);
    }
    if (error instanceof errors.APIError) {
      const status = error.status;
      if (status === undefined) {
        return callError(
          "TF_LLM_PROVIDER_ERROR",
          who,
          `error event in the stream: ${providerDetail(error.message)}`,
          cause,
        );
      }
      return callError(codeForStatus(status), who, providerDetail(error.message), {
        ...cause,
        status,
        retryAfterMs: retryAfterMs(error.headers),
      });
    }
    if (error instanceof SyntaxError) {
      return callError("TF_LLM_MALFORMED", who, `malformed response: ${error.message}`, cause);
    }
    const reason = error instanceof Error ? error.message : String(error);
    return callError("TF_LLM_CONNECTION", who, `response failed: ${providerDetail(reason)}`, cause);
  }

  function params(request: ChatRequest): ChatCompletionCreateParamsBase {
    const tools: ChatCompletionTool[] | undefined = request.tools?.length
      ? request.tools.map((t) => ({
          type: "function",
          function: { name: t.name, description: t.description, parameters: { ...t.parameters } },
        }))
      : undefined;
    const temperature = request.temperature ?? options.temperature;
    return {
      model,
      messages: request.messages.map(toMessage),
      ...(tools ? { tools } : {}),
      ...(temperature === undefined ? {} : { temperature }),
      // max_tokens rather than max_completion_tokens: every compatible server knows it.
      ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
    };
  }

  return {
    provider,
    model,
    async warm() {
      await load();
    },
    async complete(request: ChatRequest, call?: ChatCallOptions): Promise<ChatResponse> {
      const signal = call?.signal;
      signal?.throwIfAborted();
      const { client, errors } = await load();
      let completion: ChatCompletion;
      try {
        completion = await client.chat.completions.create({ ...params(request), stream: false }, { signal });
      } catch (error) {
        throw fail(error, errors, signal);
      }
      const choice = completion.choices?.[0];
      if (!choice) throw callError("TF_LLM_MALFORMED", who, "response has no choices");
      const toolCalls: ToolCall[] = [];
      for (const call of choice.message.tool_calls ?? []) {
        if (call.type === "function")
          toolCalls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments });
      }
      return {
        model: completion.model || model,
        content: choice.message.content ?? "",
        toolCalls,
        finishReason: finishReasons[choice.finish_reason ?? ""] ?? (toolCalls.length > 0 ? "tool_calls" : "stop"),
        usage: usageOf(completion.usage),
      };
    },
    async *stream(request: ChatRequest, call?: ChatCallOptions): AsyncGenerator<ChatChunk> {
      const signal = call?.signal;
      signal?.throwIfAborted();
      const { client, errors } = await load();
      const calls = new Map<number, { id: string; name: string; arguments: string }>();
      let finish: string | undefined;
      let usage: ChatUsage = { inputTokens: 0, outputTokens: 0 };
      let answered = model;
      try {
        const stream = await client.chat.completions.create(
          { ...params(request), stream: true, stream_options: { include_usage: true } },
          { signal },
        );
        for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
          call?.onActivity?.();
          if (chunk.model) answered = chunk.model;
          if (chunk.usage) usage = usageOf(chunk.usage);
          const choice = chunk.choices?.[0];
          if (!choice) continue;
          if (choice.finish_reason) finish = choice.finish_reason;
          const delta = choice.delta;
          if (delta?.content) yield { type: "text", text: delta.content };
          for (const part of delta?.tool_calls ?? []) {
            const seen = calls.get(part.index) ?? { id: "", name: "", arguments: "" };
            if (part.id) seen.id = part.id;
            if (part.function?.name) seen.name += part.function.name;
            if (part.function?.arguments) seen.arguments += part.function.arguments;
            calls.set(part.index, seen);
          }
        }
      } catch (error) {
        throw fail(error, errors, signal);
      }
      // The package ends the loop quietly when aborted; and a body cut short looks like an end.
      if (signal?.aborted) throw signal.reason;
      if (finish === undefined) {
        throw callError("TF_LLM_CONNECTION", who, "stream ended before the model finished");
      }
      const ordered = [...calls].sort(([a], [b]) => a - b);
      for (const [index, c] of ordered) {
        yield {
          type: "tool_call",
          call: { id: c.id || `call_${index}`, name: c.name, arguments: c.arguments || "{}" },
        };
      }
      yield {
        type: "done",
        finishReason: finishReasons[finish] ?? (calls.size > 0 ? "tool_calls" : "stop"),
        usage,
        model: answered,
      };
    },
  };
}
