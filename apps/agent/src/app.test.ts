import { expect, test } from "bun:test";
import { agentApp } from "./app.ts";

const main = new URL("./main.ts", import.meta.url).pathname;

test("`dev` starts the agent on embedded defaults, answers a chat message, and drains to exit 0 on SIGTERM", async () => {
  const child = Bun.spawn(["bun", main, "dev"], {
    env: { PATH: process.env.PATH, PORT: "0", HOST: "127.0.0.1", LOG_FORMAT: "json", LOG_LEVEL: "info" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`agent exited before listening: ${await new Response(child.stderr).text()}`);
    buffered += value;
    for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
      const line = JSON.parse(buffered.slice(0, at)) as Record<string, unknown>;
      buffered = buffered.slice(at + 1);
      if (line.message === "listening") url = String(line.url);
    }
  }
  for (let i = 0; i < 200 && (await fetch(`${url}/readyz`)).status !== 200; i++) await Bun.sleep(25);
  const { session_id } = (await (await fetch(`${url}/chat/sessions`, { method: "POST" })).json()) as {
    session_id: string;
  };
  const answer = await fetch(`${url}/chat/sessions/${session_id}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "hello" }),
  });
  expect(answer.status).toBe(200);
  expect(((await answer.json()) as { model: string }).model).toContain("local");

  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) buffered += chunk.value;
  const messages = buffered
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { message: string }).message);
  expect(messages).toContain("drained");
  expect(messages.at(-1)).toBe("app stopped");
});

test("the app's effective config names every plugin's settings, secrets redacted", async () => {
  const app = agentApp({ env: { ENVIRONMENT: "testing", SECRET_KEY: "a-test-secret-that-is-long-enough" } });
  const entries = await app.inspectConfig();
  const key = entries.find((e) => e.name === "SECRET_KEY");
  expect(key?.value).toBe("[redacted]");
  expect(entries.map((e) => e.name)).toContain("AGENT_DEV_USER");
});
