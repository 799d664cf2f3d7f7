import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { createApp } from "./app.ts";
import { env, formatConfig } from "./config.ts";
import { definePlugin, type Plugin } from "./plugin.ts";
import type { Runtime, ShutdownSignal } from "./runtime/types.ts";

/** A runtime whose signals, fatal errors and exit are driven by the test. */
function fakeRuntime(env: Record<string, string>) {
  const signals = new Map<ShutdownSignal, () => void>();
  let fatal: ((error: unknown, kind: "uncaughtException" | "unhandledRejection") => void) | undefined;
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });
  const lines: Array<Record<string, unknown>> = [];
  const runtime: Runtime = {
    name: "fake",
    env: () => env,
    readTextFile: async () => undefined,
    onSignal(signal, handler) {
      signals.set(signal, handler);
      return () => signals.delete(signal);
    },
    onFatal(handler) {
      fatal = handler;
      return () => {};
    },
    exit(code) {
      resolveExit(code);
      return undefined as never;
    },
    now: () => performance.now(),
    writeLine(line) {
      lines.push(JSON.parse(line));
      return true;
    },
    serve: () => Promise.reject(new Error("not used")),
  };
  return {
    runtime,
    lines,
    exited,
    signal: (name: ShutdownSignal) => signals.get(name)?.(),
    fatal: (error: unknown) => fatal?.(error, "uncaughtException"),
  };
}

const base = { ENVIRONMENT: "testing", LOG_LEVEL: "info" };

async function untilReady(lines: Array<Record<string, unknown>>): Promise<void> {
  while (!lines.some((l) => l.message === "app ready")) await Bun.sleep(1);
}

describe("run()", () => {
  const quiet: Plugin = definePlugin({ name: "quiet", start() {} });

  test("a signal drains, stops and exits 0", async () => {
    const fake = fakeRuntime(base);
    void createApp({ name: "t", plugins: [quiet], runtime: fake.runtime }).run();
    await untilReady(fake.lines);
    fake.signal("SIGTERM");
    expect(await fake.exited).toBe(0);
    expect(fake.lines.map((l) => l.message).slice(-3)).toEqual(["shutdown signal received", "draining", "app stopped"]);
  });

  test("invalid config exits 78", async () => {
    const fake = fakeRuntime({ ...base, LOG_FORMAT: "xml" });
    void createApp({ name: "t", plugins: [quiet], runtime: fake.runtime }).run();
    expect(await fake.exited).toBe(78);
    expect(fake.lines[0]?.issues).toEqual([
      {
        plugin: "kernel",
        name: "LOG_FORMAT",
        expected: "one of json, pretty",
        received: '"xml"',
        source: "process env",
      },
    ]);
  });

  test("a failed start exits 1", async () => {
    const fake = fakeRuntime(base);
    const broken = definePlugin({
      name: "broken",
      start() {
        throw new Error("no");
      },
    });
    void createApp({ name: "t", plugins: [broken], runtime: fake.runtime }).run();
    expect(await fake.exited).toBe(1);
  });

  test("an uncaught error shuts down in order and exits 1", async () => {
    const fake = fakeRuntime(base);
    void createApp({ name: "t", plugins: [quiet], runtime: fake.runtime }).run();
    await untilReady(fake.lines);
    fake.fatal(new Error("kaboom"));
    expect(await fake.exited).toBe(1);
    expect(fake.lines.find((l) => l.message === "uncaught exception")?.error).toMatchObject({ message: "kaboom" });
    expect(fake.lines.at(-1)?.message).toBe("app stopped");
  });

  test("a stop that fails (a stuck plugin) exits 1", async () => {
    const fake = fakeRuntime(base);
    const stuck = definePlugin({
      name: "stuck",
      stopTimeoutMs: 20,
      start: ({ onStop }) => onStop(() => new Promise(() => {})),
    });
    void createApp({ name: "t", plugins: [stuck], runtime: fake.runtime }).run();
    await untilReady(fake.lines);
    fake.signal("SIGTERM");
    expect(await fake.exited).toBe(1);
    expect(fake.lines.find((l) => l.message === "plugin stop timed out")?.plugin).toBe("stuck");
  });

  test("a second signal exits 1 at once", async () => {
    const fake = fakeRuntime({ ...base, DRAIN_DELAY_MS: "300" });
    void createApp({ name: "t", plugins: [quiet], runtime: fake.runtime }).run();
    await untilReady(fake.lines);
    fake.signal("SIGTERM");
    fake.signal("SIGINT");
    expect(await fake.exited).toBe(1);
  });
});

test("formatConfig prints an aligned table with sources, secrets redacted", async () => {
  const plugin = definePlugin({
    name: "p",
    config: { PORT: v.optional(env.port(), "8000"), EMPTY: v.optional(env.string(), "") },
    start() {},
  });
  const app = createApp({ name: "t", plugins: [plugin], env: { PORT: "9000" } });
  const table = formatConfig(await app.inspectConfig());
  const lines = table.split("\n");
  expect(lines[0]).toMatch(/^NAME +VALUE +SOURCE +USED BY$/);
  expect(lines.find((l) => l.startsWith("PORT"))).toMatch(/^PORT +9000 +process env +p$/);
  expect(lines.find((l) => l.startsWith("EMPTY"))).toMatch(/^EMPTY +"" +default +p$/);
});
