/** Starts a test app with the http plugin on a free loopback port and captures its log lines. */
import { type App, createApp, HttpHandler, type Override, type Plugin } from "@twelvefold/kernel";
import { HttpListener, type HttpOptions, http } from "../mod.ts";

export interface TestApp {
  readonly app: App;
  readonly url: string;
  readonly logs: Array<Record<string, unknown>>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** In-process, through HttpHandler. */
  handle(path: string, init?: RequestInit): Promise<Response>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startApp(
  plugins: readonly Plugin[],
  options: { env?: Record<string, string>; overrides?: Override[]; http?: HttpOptions } = {},
): Promise<TestApp> {
  const logs: Array<Record<string, unknown>> = [];
  const app = createApp({
    name: "test",
    plugins: [http(options.http), ...plugins],
    overrides: options.overrides,
    env: { ENVIRONMENT: "testing", LOG_LEVEL: "info", PORT: "0", HOST: "127.0.0.1", ...options.env },
    log: (line) => logs.push(JSON.parse(line)),
  });
  await app.start();
  const url = app.get(HttpListener).url;
  const handler = app.get(HttpHandler);
  return {
    app,
    url,
    logs,
    fetch: (path, init) => fetch(url + path, init),
    handle: (path, init) => handler.fetch(new Request(`http://test${path}`, init)),
    async [Symbol.asyncDispose]() {
      await app.stop().catch(() => {});
    },
  };
}
