import { describe, expect, test } from "bun:test";
import { errorsContract } from "@twelvefold/testing";
import { callError, LlmError, llmErrors } from "./errors.ts";

const call = { model: "gpt-4o-mini", provider: "openai", detail: "429 rate limit reached" };

errorsContract("llm", llmErrors, {
  TF_LLM_RATE_LIMITED: call,
  TF_LLM_PROVIDER_ERROR: call,
  TF_LLM_BAD_REQUEST: call,
  TF_LLM_AUTH: call,
  TF_LLM_CONNECTION: call,
  TF_LLM_TIMEOUT: call,
  TF_LLM_MALFORMED: call,
  TF_LLM_STREAM_INTERRUPTED: call,
  TF_LLM_CIRCUIT_OPEN: call,
  TF_LLM_OVERLOADED: { max: 16, waitMs: 10_000 },
  TF_LLM_UNAVAILABLE: { models: ["a", "b"], last: "down" },
  TF_LLM_TOOL: { problem: "bad name" },
});

describe("callError", () => {
  test("names the model and provider in the message and in its fields, and options can override retryable", () => {
    const error = callError("TF_LLM_RATE_LIMITED", { provider: "openai", model: "m" }, "slow down", {
      status: 429,
      retryAfterMs: 5,
    });
    expect(error).toBeInstanceOf(LlmError);
    expect(error).toMatchObject({
      code: "TF_LLM_RATE_LIMITED",
      retryable: true,
      status: 429,
      retryAfterMs: 5,
      model: "m",
      provider: "openai",
    });
    expect(error.message).toBe('llm: "m" at "openai": slow down');
    expect(callError("TF_LLM_TIMEOUT", { provider: "p", model: "m" }, "x", { retryable: false }).retryable).toBe(false);
  });
});
