import { afterAll, describe, expect, test } from "bun:test";
import type { ToolDefinition } from "@twelvefold/kernel";
import { chatModelCases, chatModelContract, faultServer, faults, runCase } from "@twelvefold/testing";
import { LlmError } from "./errors.ts";
import { openaiModel } from "./openai.ts";
import { resilientModel } from "./resilient.ts";
import { fastPolicy } from "./testdata/policy.ts";

const lookup: ToolDefinition = {
  name: "lookup",
  description: "Looks a word up",
  parameters: { type: "object", properties: { word: { type: "string" } }, required: ["word"] },
};

// One well-behaved server for the plain contract; each resilience case starts its own.
const server = await faultServer();
afterAll(() => server.close());

chatModelContract(
  "openai (one attempt, over the kit's fault server)",
  () => openaiModel({ model: "fault-1", baseURL: server.url }),
  {
    deterministic: true,
    toolCall: { prompt: "lexicon", tool: lookup },
  },
);

chatModelContract(
  "openai with the plugin's resilience",
  () => resilientModel(openaiModel({ model: "fault-1", baseURL: server.url }), fastPolicy),
  {
    deterministic: true,
    toolCall: { prompt: "lexicon", tool: lookup },
    resilience: {
      connect: (baseUrl) => resilientModel(openaiModel({ model: "fault-1", baseURL: baseUrl }), fastPolicy),
    },
  },
);

describe("the kit's resilience cases catch an adapter without the policy", () => {
  test("the bare adapter (one attempt, no watchdog) fails exactly the cases that need a retry", async () => {
    const options = { resilience: { connect: (baseUrl: string) => openaiModel({ model: "m", baseURL: baseUrl }) } };
    // The stall cases are left out: without a watchdog they would wait for ever, which is their point.
    const cases = chatModelCases.filter((c) => c.needs === "resilience" && !c.name.includes("stall"));
    const failed: string[] = [];
    for (const c of cases)
      await runCase(c, () => openaiModel({ model: "m", baseURL: server.url }), options).catch(() =>
        failed.push(c.name),
      );
    expect(failed).toEqual([
      "resilience: a 500 is retried and the retry answers",
      "resilience: a 429 is retried no sooner than its Retry-After",
      "resilience: a malformed chunk before any output is a failure that is retried, not a crash",
      "resilience: a connection reset before the answer is retried",
      "resilience: a 429 that persists fails with retryable and the provider's status",
    ]);
  });
});

describe("openai provider", () => {
  const request = { messages: [{ role: "user" as const, content: "hi" }] };

  test("maps each failure to a typed error with retryable and the provider's status", async () => {
    await using faulty = await faultServer({
      script: [faults.status(401), faults.status(404), faults.rateLimited("3"), faults.serverError(503)],
    });
    const model = openaiModel({ model: "m", baseURL: faulty.url, apiKey: "sk-secret-value-123456" });
    const seen = [];
    for (let i = 0; i < 4; i++) {
      const error = (await model.complete(request).catch((e: unknown) => e)) as LlmError;
      expect(error).toBeInstanceOf(LlmError);
      expect(error.message).not.toContain("sk-secret");
      seen.push([error.code, error.status, error.retryable, error.retryAfterMs]);
    }
    expect(seen).toEqual([
      ["TF_LLM_AUTH", 401, false, undefined],
      ["TF_LLM_BAD_REQUEST", 404, false, undefined],
      ["TF_LLM_RATE_LIMITED", 429, true, 3000],
      ["TF_LLM_PROVIDER_ERROR", 503, true, undefined],
    ]);
  });

  test("a refused connection is a retryable TF_LLM_CONNECTION naming the model", async () => {
    const gone = await faultServer();
    const url = gone.url;
    await gone.close();
    const error = (await openaiModel({ model: "m", baseURL: url })
      .complete(request)
      .catch((e: unknown) => e)) as LlmError;
    expect(error).toMatchObject({ code: "TF_LLM_CONNECTION", retryable: true, model: "m", provider: "openai" });
    expect(error.message).toStartWith('llm: "m" at "openai": ');
  });

  test("a stream cut off before the model finished is an error, not a short answer", async () => {
    await using faulty = await faultServer({
      reply: () => ({ content: "a b c" }),
      script: [faults.reset(3)],
    });
    const model = openaiModel({ model: "m", baseURL: faulty.url });
    const reading = (async () => {
      for await (const _ of model.stream(request)) {
        // drain
      }
    })();
    await expect(reading).rejects.toMatchObject({ code: "TF_LLM_CONNECTION", retryable: true });
  });

  test("sends the request as Chat Completions: messages, tools, temperature and max_tokens", async () => {
    await using recorder = await faultServer();
    const model = openaiModel({
      model: "m",
      baseURL: recorder.url,
      apiKey: "k",
      temperature: 0.3,
      headers: { "x-app": "t" },
    });
    await model.complete({
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "lexicon" },
        { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "lookup", arguments: '{"word":"a"}' }] },
        { role: "tool", toolCallId: "c1", content: "a letter" },
      ],
      tools: [lookup],
      maxTokens: 12,
    });
    const sent = recorder.requests[0];
    expect(sent?.headers.authorization).toBe("Bearer k");
    expect(sent?.headers["x-app"]).toBe("t");
    expect(sent?.body).toMatchObject({
      model: "m",
      temperature: 0.3,
      max_tokens: 12,
      tools: [{ type: "function", function: { name: "lookup", description: "Looks a word up" } }],
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "lexicon" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "lookup" } }],
        },
        { role: "tool", tool_call_id: "c1", content: "a letter" },
      ],
    });
  });
});
