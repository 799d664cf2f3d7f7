import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuth } from "@twelvefold/http";
import { fakeRuntime } from "@twelvefold/testing";
import { agentApp } from "./app.ts";
import { DEVELOPMENT_SECRET_KEY } from "./config.ts";
import { TEST_PGLITE_DIR, testDatabase } from "./db/testdata/database.ts";
import { subject } from "./testdata/app.ts";

const main = new URL("./main.ts", import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), "agent-app-test-"));

beforeAll(() => testDatabase(), 180_000);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs `bun main.ts ...args` to its end; resolves with its exit code and output. */
async function run(args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(["bun", main, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PGLITE_DATA_DIR: join(dataDir, "pglite"), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

describe("the app as processes", () => {
  test("`dev` starts on embedded defaults, answers a chat message, and drains to exit 0 on SIGTERM", async () => {
    const child = Bun.spawn(["bun", main, "dev"], {
      env: {
        PATH: process.env.PATH,
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_FORMAT: "json",
        LOG_LEVEL: "info",
        PGLITE_DATA_DIR: join(dataDir, "dev"),
      },
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
    for (let i = 0; i < 3000 && (await fetch(`${url}/readyz`)).status !== 200; i++) await Bun.sleep(50);
    const { session_id } = (await (await fetch(`${url}/chat/sessions`, { method: "POST" })).json()) as {
      session_id: string;
    };
    const answer = await fetch(`${url}/chat/sessions/${session_id}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "hello" }),
    });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { response: string }).response).toBe("Hello from the local model!");

    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) buffered += chunk.value;
    const messages = buffered
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { message: string }).message);
    expect(messages).toContain("drained");
    expect(messages.at(-1)).toBe("app stopped");
  }, 240_000);

  test("`admin token --sub alice` prints a token the web process accepts for alice, and starts nothing", async () => {
    const { code, stdout, stderr } = await run(["admin", "token", "--sub", "alice"]);
    expect(code).toBe(0);
    const token = stdout.trim();
    const claims = await createAuth({ secretKey: DEVELOPMENT_SECRET_KEY, expireMinutes: 60 }).verify(token);
    expect(claims.sub).toBe("alice");
    expect(stderr).not.toContain("plugin started");
    const missing = await run(["admin", "token"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--sub");
  }, 60_000);
});

describe("admin commands in-process", () => {
  test("seed makes a demo user with sessions and a fact, and a second seed adds nothing", async () => {
    const user = subject("demo");
    const seed = async () => {
      const fake = fakeRuntime({ ENVIRONMENT: "testing", LOG_LEVEL: "warn", PGLITE_DATA_DIR: TEST_PGLITE_DIR }, [
        "admin",
        "seed",
        `--user=${user}`,
      ]);
      void agentApp({ runtime: fake.runtime }).run();
      return { code: await fake.exited, stdout: fake.stdout };
    };
    expect(await seed()).toEqual({ code: 0, stdout: [`seeded user "${user}": 2 sessions (2 new)`] });
    expect(await seed()).toEqual({ code: 0, stdout: [`seeded user "${user}": 2 sessions (0 new)`] });
  }, 60_000);

  test("token signs for --sub with SECRET_KEY and says so when there is none", async () => {
    const token = async (env: Record<string, string>, ...args: string[]) => {
      const fake = fakeRuntime({ ENVIRONMENT: "testing", LOG_LEVEL: "warn", ...env }, ["admin", "token", ...args]);
      void agentApp({ runtime: fake.runtime }).run();
      return { code: await fake.exited, stdout: fake.stdout, logs: fake.logs() };
    };
    const signed = await token({}, "--sub", "alice", "--minutes", "5");
    expect(signed.code).toBe(0);
    const claims = await createAuth({ secretKey: DEVELOPMENT_SECRET_KEY, expireMinutes: 60 }).verify(
      signed.stdout[0] as string,
    );
    expect(claims).toMatchObject({ sub: "alice" });
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    const unsigned = await token({ ENVIRONMENT: "staging" }, "--sub", "alice");
    expect(unsigned.code).toBe(1);
    expect(JSON.stringify(unsigned.logs)).toContain("cannot sign a token: SECRET_KEY is not set");
  });

  test("the effective config names every setting of the app, secrets redacted", async () => {
    const app = agentApp({ env: { ENVIRONMENT: "testing", SECRET_KEY: "a-test-secret-that-is-long-enough" } });
    const entries = await app.inspectConfig();
    expect(entries.find((e) => e.name === "SECRET_KEY")?.value).toBe("[redacted]");
    const names = entries.map((e) => e.name);
    for (const name of ["AGENT_DEV_USER", "AGENT_MESSAGES_PER_MINUTE", "AGENT_RETENTION_DAYS", "PGLITE_DATA_DIR"]) {
      expect(names).toContain(name);
    }
  });
});
