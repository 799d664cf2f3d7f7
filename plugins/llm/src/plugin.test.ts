import { describe, expect, test } from "bun:test";
import { http } from "@twelvefold/http";
import { ChatModel, type ChatRequest, ConfigError } from "@twelvefold/kernel";
import { metrics } from "@twelvefold/metrics";
import { faultServer, faults, pluginContract, testApp } from "@twelvefold/testing";
import type { AgentEvent } from "./agent.ts";
import { Agent, llm } from "./plugin.ts";
import type { ResilientModel } from "./resilient.ts";
import { calculator } from "./tools.ts";

pluginContract(() => llm(), {
  badEnv: {
    LLM_MAX_RETRIES: "many",
    LLM_PRICES: '{"gpt-4o": {"input": "cheap"}}',
    OPENAI_BASE_URL: "ftp://models.example",
  },
});

const request: ChatRequest = { messages: [{ role: "user", content: "hello" }] };

async function events(agent: Agent, content: string): Promise<AgentEvent[]> {
  const out: AgentEvent[] = [];
  for await (const event of agent.run({ tools: [calculator()], messages: [{ role: "user", content }] }))
    out.push(event);
  return out;
}

describe("llm plugin", () => {
  test("with nothing configured, the local model answers and the agent loop runs end to end", async () => {
    await using t = await testApp({ plugins: [llm()] });
    const model = t.get(ChatModel);
    expect([model.provider, model.model]).toEqual(["local", "local-deterministic"]);
    expect((await model.complete(request)).content).toBe("Hello from the local model!");
    const done = (await events(t.get(Agent), "What is 6 * 7?")).at(-1);
    expect(done).toMatchObject({ type: "done", reason: "stop", text: "6 * 7 = 42." });
    expect(t.logs.find((l) => l.message === "llm ready")).toMatchObject({ models: ["local/local-deterministic"] });
  });

  test("Agent.cost prices usage by LLM_PRICES, dated versions by their prefix, and knows nothing of unpriced models", async () => {
    await using t = await testApp({
      plugins: [llm({ LLM_PRICES: '{"gpt-4o-mini":{"input":0.15,"output":0.6}}' })],
    });
    const agent = t.get(Agent);
    const usage = { inputTokens: 1_000_000, outputTokens: 500_000 };
    expect(agent.cost("gpt-4o-mini-2024-07-18", usage)).toBeCloseTo(0.45, 10);
    expect(agent.cost("local-deterministic", usage)).toBeUndefined();
  });

  test("OPENAI_BASE_URL points it at a compatible server; LLM_FALLBACK_MODELS answers when that fails", async () => {
    await using server = await faultServer();
    await using t = await testApp({
      plugins: [llm()],
      env: {
        OPENAI_BASE_URL: server.url,
        OPENAI_API_KEY: "sk-test-key-000000",
        OPENAI_MODEL: "served-1",
        LLM_FALLBACK_MODELS: "local",
        LLM_RETRY_BASE_MS: "5",
        LLM_MAX_RETRIES: "1",
      },
    });
    const model = t.get(ChatModel) as ResilientModel;
    expect(model.chain.map((m) => m.model)).toEqual(["served-1", "local-deterministic"]);
    expect((await model.complete(request)).model).toBe("served-1");
    expect(server.requests[0]?.headers.authorization).toBe("Bearer sk-test-key-000000");
    server.setFallback(faults.serverError());
    expect((await model.complete(request)).model).toBe("local-deterministic");
    expect(t.logs.find((l) => l.message === "llm model failed, falling back")).toMatchObject({
      level: "warn",
      from: "served-1",
      to: "local-deterministic",
    });
    expect(JSON.stringify(t.logs)).not.toContain("sk-test-key-000000");
  });

  test("production refuses the local model as a silent default: a config error, unless LLM_PROVIDER=local", async () => {
    const refused = await testApp({ plugins: [llm()], env: { ENVIRONMENT: "production" }, start: false });
    const error = await refused.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      expect.objectContaining({ name: "LLM_PROVIDER", expected: expect.stringContaining("LLM_PROVIDER=local") }),
    ]);
    await using chosen = await testApp({ plugins: [llm()], env: { ENVIRONMENT: "production", LLM_PROVIDER: "local" } });
    expect(chosen.get(ChatModel).provider).toBe("local");
  });

  test("LLM_PROVIDER=openai with neither key nor base URL is a config error before anything starts", async () => {
    const t = await testApp({ plugins: [llm()], env: { LLM_PROVIDER: "openai" }, start: false });
    const error = await t.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({ name: "OPENAI_BASE_URL", plugin: "llm" });
  });

  test("a bad price table is a config error saying what it expects", async () => {
    const t = await testApp({ plugins: [llm()], env: { LLM_PRICES: "[1, 2]" }, start: false });
    const error = await t.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({
      name: "LLM_PRICES",
      expected: expect.stringContaining("input"),
    });
  });

  test("the GenAI histograms, cost and the dashboard's figures appear in /metrics", async () => {
    await using t = await testApp({
      plugins: [http(), metrics(), llm()],
      env: { PORT: "0", HOST: "127.0.0.1", LLM_PRICES: '{"local":{"input":1,"output":2}}' },
    });
    for await (const _ of t.get(ChatModel).stream(request)) {
      // read to the end
    }
    const text = await (await t.fetch("/metrics")).text();
    const labels =
      'gen_ai_operation_name="chat",gen_ai_provider_name="local",gen_ai_request_model="local-deterministic"';
    expect(text).toContain(
      `gen_ai_client_operation_duration_seconds_count{${labels},gen_ai_response_model="local-deterministic",error_type=""} 1`,
    );
    expect(text).toContain(
      `gen_ai_client_token_usage_count{${labels},gen_ai_response_model="local-deterministic",gen_ai_token_type="output"} 1`,
    );
    expect(text).toContain(`gen_ai_client_operation_time_to_first_chunk_seconds_count{${labels}} 1`);
    expect(text).toMatch(/llm_cost_usd_total\{model="local-deterministic"\} 0\.0000\d+/);
    expect(text).toContain('llm_tokens_total{model="local-deterministic",type="output"} 5');
  });

  test("health is degraded while a model's breaker is open and down when every one is", async () => {
    await using server = await faultServer({ fallback: faults.serverError() });
    await using t = await testApp({
      plugins: [llm()],
      env: {
        OPENAI_BASE_URL: server.url,
        OPENAI_MODEL: "a",
        LLM_FALLBACK_MODELS: "b",
        LLM_MAX_RETRIES: "0",
        LLM_BREAKER_FAILURES: "1",
      },
    });
    const model = t.get(ChatModel);
    expect((await t.app.lifecycle.health()).checks.llm?.status).toBe("up");
    await model.complete(request).catch(() => {});
    const report = await t.app.lifecycle.health();
    expect(report.checks.llm).toMatchObject({ status: "down", detail: '"a": open, "b": open' });
    await using local = await testApp({
      plugins: [llm()],
      env: {
        OPENAI_BASE_URL: server.url,
        LLM_FALLBACK_MODELS: "local",
        LLM_MAX_RETRIES: "0",
        LLM_BREAKER_FAILURES: "1",
      },
    });
    expect((await local.get(ChatModel).complete(request)).model).toBe("local-deterministic");
    expect((await local.app.lifecycle.health()).checks.llm).toMatchObject({
      status: "degraded",
      detail: '"gpt-4o-mini": open, "local-deterministic": closed',
    });
  });

  test("options are the top config layer, and models of your own replace the configured chain", async () => {
    await using t = await testApp({ plugins: [llm({ LLM_MAX_STEPS: 1 })] });
    const shown = (await t.app.inspectConfig()).find((e) => e.name === "LLM_MAX_STEPS");
    expect(shown).toMatchObject({ value: "1", source: "options" });
    const last = (await events(t.get(Agent), "What is 6 * 7?")).at(-1);
    expect(last).toMatchObject({ type: "done", reason: "max_steps" });
    const own = t.get(ChatModel);
    await using mine = await testApp({ plugins: [llm({ models: [own] })] });
    expect((mine.get(ChatModel) as ResilientModel).chain.map((m) => m.model)).toEqual(["local-deterministic"]);
  });
});
