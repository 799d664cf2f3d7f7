/**
 * Starts a test app with the http plugin on the kit's harness (a free loopback port, captured
 * log lines), in the shape the http tests call: `fetch` over the socket, `handle` in-process.
 */
import type { App, Override, Plugin, Runtime } from "@twelvefold/kernel";
import { type LogLine, testApp } from "@twelvefold/testing";
import { type HttpOptions, http } from "../mod.ts";

export interface TestApp {
  readonly app: App;
  readonly url: string;
  /** Every log line so far, parsed (the harness's live list). */
  readonly logs: Array<Record<string, unknown>>;
  /** Over the socket. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** In-process, through HttpHandler. */
  handle(path: string, init?: RequestInit): Promise<Response>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startApp(
  plugins: readonly Plugin[],
  options: { env?: Record<string, string>; overrides?: Override[]; http?: HttpOptions; runtime?: Runtime } = {},
): Promise<TestApp> {
  const t = await testApp({
    name: "test",
    plugins: [http(options.http), ...plugins],
    overrides: options.overrides,
    env: { LOG_LEVEL: "info", ...options.env },
    runtime: options.runtime,
  });
  const url = t.url;
  return {
    app: t.app,
    url,
    logs: t.logs as LogLine[],
    fetch: (path, init) => t.request(path, init),
    handle: (path, init) => t.fetch(`http://test${path}`, init),
    async [Symbol.asyncDispose]() {
      await t.stop().catch(() => {});
    },
  };
}
