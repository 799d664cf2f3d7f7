import {
  type App,
  createApp,
  HttpHandler,
  HttpListener,
  KernelError,
  type Override,
  type Plugin,
  type ProcessType,
  type Runtime,
  type Token,
} from "@twelvefold/kernel";
import { testingErrors } from "./errors.ts";

/** Options for {@link testApp}. */
export interface TestAppOptions {
  readonly plugins?: readonly Plugin[];
  /** Values that replace what plugins provide, e.g. `override(ChatModel, fakeModel)`. */
  readonly overrides?: readonly Override[];
  /**
   * The app's whole environment, over the harness defaults (ENVIRONMENT=testing, LOG_LEVEL=debug,
   * LOG_FORMAT=json, PORT=0, HOST=127.0.0.1: a server binds a free loopback port, never
   * 0.0.0.0:8000). The process env and `.env` files are never read, so tests are hermetic.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** App name (default `"test-app"`). */
  readonly name?: string;
  readonly version?: string;
  /** Start before returning (default true). With false, call `start()` yourself, e.g. to assert that it fails. */
  readonly start?: boolean;
  /** The process type(s) the app runs as (default: web, worker and scheduler, as `dev` does). */
  readonly process?: ProcessType | readonly ProcessType[];
  /** Runtime adapter (default: detected). */
  readonly runtime?: Runtime;
  readonly startTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
}

/** One captured log line, parsed. Lines that are not JSON keep their text as `message`. */
export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

/** A running app under test. Dispose it (`await using`) or call `stop()`. */
export interface TestApp extends AsyncDisposable {
  /** The app itself, for what the harness does not wrap (`lifecycle`, `inspectConfig`). */
  readonly app: App;
  /** Every log line so far, parsed, oldest first. */
  readonly logs: readonly LogLine[];
  /** The service behind `token`; throws naming the token when nobody provides it. */
  get<T>(token: Token<T>): T;
  /**
   * Calls the app's HTTP stack in-process (no socket) through the HttpHandler token, which the
   * http plugin provides. A path is resolved against `http://localhost`.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * The socket URL the http plugin bound (`http://127.0.0.1:<port>`), through the kernel's
   * HttpListener token; for what only a real connection shows (keep-alive, chunked bodies, the
   * client address). Throws a TestingError when nothing listens.
   */
  readonly url: string;
  /**
   * Calls the app over its socket: `fetch(t.url + path, init)`, then lets one event-loop turn pass,
   * so what the server records once an answer is out (the http plugin's span, metrics and access
   * line) is in `logs` and the exporters.
   */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Starts the app (once); only needed with `start: false`. */
  start(): Promise<void>;
  /** Drains and stops the app. Idempotent. */
  stop(): Promise<void>;
}

const harnessEnv: Readonly<Record<string, string>> = {
  ENVIRONMENT: "testing",
  LOG_LEVEL: "debug",
  LOG_FORMAT: "json",
  PORT: "0",
  HOST: "127.0.0.1",
};

/**
 * Boots an app with the chosen plugins and overrides, captures its logs, and lets a test call
 * its routes in-process and stop it. Every integration test of a plugin or an app starts here.
 *
 * @example
 * ```ts
 * import { testApp } from "@twelvefold/testing";
 * await using t = await testApp({ plugins: [http(), chatRoutes()], overrides: [override(ChatModel, fake)] });
 * const response = await t.fetch("/chat/sessions", { method: "POST" });
 * expect(response.status).toBe(201);
 * expect(t.logs.some((l) => l.message === "app ready")).toBe(true);
 * ```
 */
export async function testApp(options: TestAppOptions = {}): Promise<TestApp> {
  const logs: LogLine[] = [];
  const app = createApp({
    name: options.name ?? "test-app",
    version: options.version,
    plugins: options.plugins ?? [],
    overrides: options.overrides,
    process: options.process,
    env: { ...harnessEnv, ...options.env },
    runtime: options.runtime,
    startTimeoutMs: options.startTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs,
    log: (line) => {
      logs.push(parseLine(line));
    },
  });
  const listener = (): HttpListener => {
    try {
      return app.get(HttpListener);
    } catch (error) {
      if (!(error instanceof KernelError)) throw error;
      throw testingErrors.create("TF_TESTING_NO_LISTENER", { token: HttpListener.id }, { cause: error });
    }
  };
  const handle: TestApp = {
    app,
    logs,
    get url() {
      return listener().url;
    },
    request: async (path, init) => {
      const response = await fetch(listener().url + path, init);
      await afterTurn();
      return response;
    },
    get: (token) => app.get(token),
    fetch: async (input, init) => {
      let handler: HttpHandler;
      try {
        handler = app.get(HttpHandler);
      } catch (error) {
        if (!(error instanceof KernelError)) throw error;
        throw testingErrors.create("TF_TESTING_NO_HTTP_HANDLER", { token: HttpHandler.id }, { cause: error });
      }
      const target = typeof input === "string" ? new URL(input, "http://localhost") : input;
      return handler.fetch(new Request(target, init));
    },
    start: () => app.start(),
    stop: () => app.stop(),
    [Symbol.asyncDispose]: () => app.stop(),
  };
  if (options.start !== false) await app.start();
  return handle;
}

/** Resolves after the event-loop turn now pending has run its deferred work (setImmediate callbacks). */
function afterTurn(): Promise<void> {
  return new Promise((resolve) =>
    typeof globalThis.setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0),
  );
}

function parseLine(line: string): LogLine {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as LogLine;
  } catch {
    // Pretty format or a stray line: keep the text.
  }
  return { level: "unknown", message: line };
}
