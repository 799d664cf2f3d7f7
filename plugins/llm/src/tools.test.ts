import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { costOf } from "./cost.ts";
import { providerDetail } from "./errors.ts";
import { defineTool, parseArguments } from "./tool.ts";
import { calculator, clock, evaluate } from "./tools.ts";

describe("defineTool", () => {
  test("shows the model a JSON Schema made from the valibot input", () => {
    const tool = defineTool({
      name: "search",
      description: "Searches notes",
      input: v.object({ query: v.pipe(v.string(), v.description("what to find")), limit: v.optional(v.number()) }),
      run: () => [],
    });
    expect(tool.definition).toEqual({
      name: "search",
      description: "Searches notes",
      parameters: {
        type: "object",
        properties: { query: { type: "string", description: "what to find" }, limit: { type: "number" } },
        required: ["query"],
      },
    });
  });

  test("refuses a name a provider would refuse", () => {
    expect(() => defineTool({ name: "no spaces", description: "", input: v.object({}), run: () => 1 })).toThrow(
      'llm: invalid tool name "no spaces"',
    );
  });

  test("parseArguments: bad JSON and schema failures are messages for the model", () => {
    const tool = defineTool({ name: "t", description: "", input: v.object({ n: v.number() }), run: () => 1 });
    expect(parseArguments(tool, '{"n": 2}')).toEqual({ ok: true, value: { n: 2 } });
    expect(parseArguments(tool, "{nope")).toMatchObject({
      ok: false,
      error: expect.stringContaining("not valid JSON"),
    });
    expect(parseArguments(tool, "")).toMatchObject({
      ok: false,
      error: expect.stringContaining("invalid arguments: n: "),
    });
  });
});

describe("calculator and clock", () => {
  test("evaluate follows precedence, parentheses, unary minus and right-associative powers", () => {
    expect(evaluate("12 * (3 + 4) ^ 2")).toBe(588);
    expect(evaluate("-2 ^ 2 + 10 % 4 - 6 / 4")).toBe(4.5);
    expect(evaluate("2 ^ 3 ^ 2")).toBe(512);
    expect(evaluate("+1.5e1")).toBe(15);
  });

  test("evaluate refuses what is not arithmetic, saying where, and runs no code", () => {
    expect(() => evaluate("2 + process.exit()")).toThrow('unexpected "p" at position 3');
    expect(() => evaluate("(1 + 2")).toThrow('missing ")"');
    expect(() => evaluate("1 +")).toThrow("unexpected end");
    expect(() => evaluate("1 / 0")).toThrow("no finite value");
    expect(() => evaluate("1 2")).toThrow("no operator between them");
  });

  test("the tools answer with structured results", async () => {
    expect(await calculator().run({ expression: "0.1 + 0.2" }, {} as never)).toEqual({ result: 0.3 });
    const at = clock({ now: () => new Date("2026-03-01T12:00:00Z") });
    expect(await at.run({ timeZone: "Asia/Tokyo" }, {} as never)).toMatchObject({
      timeZone: "Asia/Tokyo",
      iso: "2026-03-01T12:00:00.000Z",
      time: expect.stringContaining("21:00:00"),
    });
    expect(() => at.run({ timeZone: "Mars/Olympus" }, {} as never)).toThrow('unknown time zone "Mars/Olympus"');
  });
});

describe("cost and messages", () => {
  test("prices by the answering model, a key prefixing dated versions, else the asked-for model", () => {
    const table = { "gpt-4o-mini": { input: 0.15, output: 0.6 }, "gpt-4o": { input: 2.5, output: 10 } };
    const usage = { inputTokens: 1_000_000, outputTokens: 500_000 };
    expect(costOf(table, "gpt-4o-mini-2024-07-18", "x", usage)).toBeCloseTo(0.45);
    expect(costOf(table, "unknown", "gpt-4o", usage)).toBeCloseTo(7.5);
    expect(costOf(table, "a", "b", usage)).toBeUndefined();
  });

  test("a provider's text is masked of anything shaped like a key, and shortened", () => {
    expect(providerDetail("Incorrect API key provided: sk-proj-abc***xyz1")).toBe(
      "Incorrect API key provided: [redacted]",
    );
    expect(providerDetail("x".repeat(300)).length).toBe(200);
  });
});
