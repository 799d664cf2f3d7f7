/**
 * The app under test, in-process: every plugin of the real app (web, worker and scheduler in one
 * process, as `dev` runs them) on the embedded defaults, with a development user of its own so no
 * two tests see each other's sessions in the shared PGlite.
 */
import { HttpAuth } from "@twelvefold/http";
import type { Override, ProcessType } from "@twelvefold/kernel";
import { type TestApp, testApp } from "@twelvefold/testing";
import { agentPlugins } from "../app.ts";
import { TEST_PGLITE_DIR } from "../db/testdata/database.ts";

/** A subject no other test uses. */
export function subject(label = "user"): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Boots the whole app; `env` over quiet logs and a fresh AGENT_DEV_USER. */
export function bootAgent(
  options: {
    readonly env?: Record<string, string>;
    readonly overrides?: readonly Override[];
    readonly process?: ProcessType | readonly ProcessType[];
  } = {},
): Promise<TestApp> {
  return testApp({
    name: "agent",
    plugins: agentPlugins(),
    overrides: options.overrides,
    process: options.process,
    env: { LOG_LEVEL: "warn", AGENT_DEV_USER: subject("dev"), PGLITE_DATA_DIR: TEST_PGLITE_DIR, ...options.env },
    startTimeoutMs: 120_000,
  });
}

/** A POST of `body` as JSON, with `headers`. */
export function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/** `Authorization: Bearer <a token for sub>`, signed by the app's HttpAuth. */
export async function bearer(t: TestApp, sub: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await t.get(HttpAuth).sign(sub)}` };
}

/** Opens a session; resolves with its id. */
export async function openSession(t: TestApp, headers: Record<string, string> = {}): Promise<string> {
  const response = await t.fetch("/chat/sessions", { method: "POST", headers });
  if (response.status !== 201) throw new Error(`POST /chat/sessions: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { session_id: string }).session_id;
}

/** One server-sent event: its id and its parsed data. */
export interface StreamEvent {
  readonly id?: string;
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Reads an SSE response to its end; `limit` stops after that many events (the client "drops"). */
export async function readEvents(response: Response, limit = Number.POSITIVE_INFINITY): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  while (events.length < limit) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    for (let at = buffer.indexOf("\n\n"); at >= 0 && events.length < limit; at = buffer.indexOf("\n\n")) {
      const frame = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      const id = /^id: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (data !== undefined) events.push({ ...(JSON.parse(data) as { type: string }), ...(id ? { id } : {}) });
    }
  }
  await reader.cancel().catch(() => {});
  return events;
}

/** Polls `check` until it holds; the generous bound only stops a hung test. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
