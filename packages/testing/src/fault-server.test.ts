import { describe, expect, test } from "bun:test";
import { faultServer, faults } from "../mod.ts";

const body = (stream: boolean, extra: object = {}) =>
  JSON.stringify({ model: "m", stream, messages: [{ role: "user", content: "a b" }], ...extra });

function post(url: string, stream: boolean, signal?: AbortSignal) {
  return fetch(`${url}/chat/completions`, { method: "POST", body: body(stream), signal });
}

/** The data lines of an SSE body, as far as it got. */
async function dataLines(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((event) => event.replace(/^data: /, ""));
}

describe("fault server", () => {
  test("well behaved: a streamed answer in OpenAI's chunk format, then usage, then [DONE]", async () => {
    await using server = await faultServer();
    const response = await post(server.url, true);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const lines = await dataLines(response);
    expect(lines.at(-1)).toBe("[DONE]");
    const chunks = lines.slice(0, -1).map((l) => JSON.parse(l));
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("echo: a b");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 3 } });
    const completion = await (await post(server.url, false)).json();
    expect(completion.choices[0]).toMatchObject({ message: { content: "echo: a b" }, finish_reason: "stop" });
    expect(server.requests.map((r) => [r.method, r.path, r.fault])).toEqual([
      ["POST", "/v1/chat/completions", "ok"],
      ["POST", "/v1/chat/completions", "ok"],
    ]);
  });

  test("a tool offered to a user message is called, its arguments split over two chunks", async () => {
    await using server = await faultServer();
    const tools = [{ type: "function", function: { name: "lookup", parameters: { properties: { word: {} } } } }];
    const response = await fetch(`${server.url}/chat/completions`, { method: "POST", body: body(true, { tools }) });
    const chunks = (await dataLines(response)).slice(0, -1).map((l) => JSON.parse(l));
    const args = chunks.map((c) => c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? "").join("");
    expect(JSON.parse(args)).toEqual({ word: "a b" });
    expect(chunks.at(-2).choices[0].finish_reason).toBe("tool_calls");
  });

  test("status faults carry an OpenAI error body and Retry-After; the script runs in order, then the fallback", async () => {
    await using server = await faultServer({
      script: [faults.rateLimited("7"), faults.serverError(503)],
      fallback: faults.status(418),
    });
    const limited = await post(server.url, false);
    expect([limited.status, limited.headers.get("retry-after")]).toEqual([429, "7"]);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");
    expect((await post(server.url, false)).status).toBe(503);
    expect((await post(server.url, true)).status).toBe(418);
    server.setFallback(faults.ok());
    server.enqueue(faults.status(500));
    expect((await post(server.url, false)).status).toBe(500);
    expect((await post(server.url, false)).status).toBe(200);
  });

  test("a reset before the answer fails the request; one mid-stream fails the body", async () => {
    await using server = await faultServer({ script: [faults.reset(0), faults.reset(2)] });
    await expect(post(server.url, true)).rejects.toThrow();
    const response = await post(server.url, true);
    await expect(response.text()).rejects.toThrow();
  });

  test("a malformed event is not JSON, and the answer goes on after it", async () => {
    await using server = await faultServer({ script: [faults.malformedChunk(1), faults.malformedChunk(0)] });
    const lines = await dataLines(await post(server.url, true));
    expect(() => JSON.parse(lines[1] as string)).toThrow();
    expect(lines.at(-1)).toBe("[DONE]");
    expect(await (await post(server.url, false)).text()).toBe('{"choices": [');
  });

  test("stalls hold until the client leaves, or for the time given; a trickle spaces every event", async () => {
    await using server = await faultServer({
      script: [
        faults.stallBeforeFirstChunk(),
        faults.stallMidStream(1, 30),
        faults.trickle(10),
        faults.stallBeforeFirstChunk(20),
      ],
    });
    const controller = new AbortController();
    const stalled = await post(server.url, true, controller.signal);
    const reading = stalled.text();
    setTimeout(() => controller.abort(new Error("gave up")), 50);
    await expect(reading).rejects.toThrow();
    for (let i = 0; i < 2; i++) expect((await dataLines(await post(server.url, true))).at(-1)).toBe("[DONE]");
    const slow = await post(server.url, false);
    expect(slow.status).toBe(200);
  });

  test("an unknown path is a 404 in OpenAI's error shape", async () => {
    await using server = await faultServer();
    const response = await fetch(`${server.url}/models`);
    expect(response.status).toBe(404);
    expect(server.requests[0]?.body).toBeUndefined();
  });
});
