import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { createApp } from "./app.ts";
import { env } from "./config.ts";
import { definePlugin } from "./plugin.ts";
import { bunCopies, nodeCopies, watchParent } from "./runtime/copies.ts";
import type { CopyProcess, ProcessCopies, Runtime, ShutdownSignal } from "./runtime/types.ts";
import { COPY_ENV, superviseCopies } from "./supervisor.ts";

type Exit = { code: number | null; signal: string | null };

/** A copy the test ends: `exit(code)`, or a kill, which ends it with the code `onKill` gives. */
class FakeCopy implements CopyProcess {
  static next = 100;
  readonly pid = FakeCopy.next++;
  readonly kills: string[] = [];
  readonly env: Readonly<Record<string, string>>;
  #resolve: (exit: Exit) => void = () => {};
  readonly exited = new Promise<Exit>((resolve) => {
    this.#resolve = resolve;
  });
  onKill: (signal: string) => Exit | undefined = () => ({ code: 0, signal: null });
  constructor(env: Readonly<Record<string, string>>) {
    this.env = env;
  }
  kill(signal: "SIGTERM" | "SIGKILL"): void {
    this.kills.push(signal);
    const exit = this.onKill(signal);
    if (exit) this.#resolve(exit);
  }
  exit(code: number | null, signal: string | null = null): void {
    this.#resolve({ code, signal });
  }
}

function harness(options: { failFork?: boolean } = {}) {
  const forked: FakeCopy[] = [];
  const signals = new Map<ShutdownSignal, () => void>();
  const lines: Array<Record<string, unknown>> = [];
  let fatal: ((error: unknown, kind: "uncaughtException" | "unhandledRejection") => void) | undefined;
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });
  let clock = 0;
  const copies: ProcessCopies = {
    async fork(env) {
      if (options.failFork && forked.length > 0) throw new Error("fork refused");
      const copy = new FakeCopy(env);
      forked.push(copy);
      return copy;
    },
    onParentGone: () => () => {},
  };
  const runtime: Runtime = {
    name: "fake",
    env: () => ({}),
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
    now: () => clock,
    writeLine(line) {
      lines.push(JSON.parse(line));
      return true;
    },
    serve: () => Promise.reject(new Error("not used")),
    copies,
  };
  return {
    runtime,
    copies,
    forked,
    lines,
    exited,
    signal: (name: ShutdownSignal) => signals.get(name)?.(),
    fatal: (error: unknown) => fatal?.(error, "uncaughtException"),
    advance: (ms: number) => {
      clock += ms;
    },
    until: async (check: () => boolean) => {
      for (let i = 0; i < 2_000 && !check(); i++) await Bun.sleep(1);
      expect(check()).toBe(true);
    },
  };
}

/** Starts the supervisor of a harness through a real app's logger. */
function supervise(h: ReturnType<typeof harness>, count: number) {
  const app = createApp({ name: "sup", plugins: [], runtime: h.runtime, env: { LOG_LEVEL: "info" } });
  return superviseCopies({
    count,
    copies: h.copies,
    runtime: h.runtime,
    logger: app.logger as Parameters<typeof superviseCopies>[0]["logger"],
    restartDelayMs: 1,
    maxRestartDelayMs: 4,
    stableAfterMs: 1_000,
  });
}

describe("superviseCopies", () => {
  test("starts the copies, each told its index; SIGTERM reaches every copy once and the exit is 0", async () => {
    const h = harness();
    void supervise(h, 3);
    await h.until(() => h.forked.length === 3);
    expect(h.forked.map((c) => c.env[COPY_ENV])).toEqual(["0", "1", "2"]);
    h.signal("SIGTERM");
    expect(await h.exited).toBe(0);
    expect(h.forked.map((c) => c.kills)).toEqual([["SIGTERM"], ["SIGTERM"], ["SIGTERM"]]);
    expect(h.lines.at(-1)).toMatchObject({ message: "copies stopped", code: 0 });
  });

  test("a copy that dies is restarted, after a delay that grows while copies keep dying young", async () => {
    const h = harness();
    void supervise(h, 1);
    await h.until(() => h.forked.length === 1);
    h.forked[0]?.exit(null, "SIGKILL");
    await h.until(() => h.forked.length === 2);
    h.forked[1]?.exit(1);
    await h.until(() => h.forked.length === 3);
    const restarts = h.lines.filter((l) => l.message === "copy exited: restarting it");
    expect(restarts.map((l) => [l.signal, l.code, l.restart_in_ms])).toEqual([
      ["SIGKILL", null, 1],
      [null, 1, 2],
    ]);
    // A copy that ran past stableAfterMs starts the delay over.
    h.advance(5_000);
    h.forked[2]?.exit(1);
    await h.until(() => h.forked.length === 4);
    expect(h.lines.filter((l) => l.message === "copy exited: restarting it").at(-1)?.restart_in_ms).toBe(1);
    expect(h.forked[3]?.env[COPY_ENV]).toBe("0");
    h.signal("SIGINT");
    expect(await h.exited).toBe(0);
  });

  test("a copy that exits 78 (invalid config) stops every copy, and the supervisor exits 78", async () => {
    const h = harness();
    void supervise(h, 2);
    await h.until(() => h.forked.length === 2);
    h.forked[0]?.exit(78);
    expect(await h.exited).toBe(78);
    expect(h.forked[1]?.kills).toEqual(["SIGTERM"]);
    expect(h.forked.length).toBe(2);
  });

  test("a copy that fails its drain makes the exit 1; a second signal is passed on to the copies", async () => {
    const h = harness();
    void supervise(h, 2);
    await h.until(() => h.forked.length === 2);
    for (const copy of h.forked) copy.onKill = () => (copy.kills.length > 1 ? { code: 1, signal: null } : undefined);
    h.signal("SIGTERM");
    h.signal("SIGTERM");
    expect(await h.exited).toBe(1);
    expect(h.forked.map((c) => c.kills)).toEqual([
      ["SIGTERM", "SIGTERM"],
      ["SIGTERM", "SIGTERM"],
    ]);
    expect(h.lines.some((l) => l.message === "second signal: copies exit without finishing the drain")).toBe(true);
  });

  test("a copy that cannot be restarted, or an uncaught error, stops them all with exit 1", async () => {
    const refused = harness({ failFork: true });
    void supervise(refused, 1);
    await refused.until(() => refused.forked.length === 1);
    refused.forked[0]?.exit(1);
    expect(await refused.exited).toBe(1);
    expect(refused.lines.some((l) => l.message === "cannot start a copy: stopping every copy")).toBe(true);

    const crashed = harness();
    void supervise(crashed, 1);
    await crashed.until(() => crashed.forked.length === 1);
    crashed.fatal(new Error("boom"));
    expect(await crashed.exited).toBe(1);
    expect(crashed.forked[0]?.kills).toEqual(["SIGTERM"]);
  });
});

describe("run() with WORKERS", () => {
  const web = definePlugin({
    name: "web-thing",
    processes: ["web"],
    config: { PORT: v.optional(env.port(), "0") },
    start() {},
  });

  test("web with WORKERS=2 becomes the supervisor of two copies and starts no plugin itself", async () => {
    const h = harness();
    const started: string[] = [];
    const plugin = definePlugin({ name: "counted", processes: ["web"], start: () => void started.push("x") });
    void createApp({ name: "w", plugins: [plugin], runtime: h.runtime, env: { WORKERS: "2" } }).run({ argv: ["web"] });
    await h.until(() => h.forked.length === 2);
    h.signal("SIGTERM");
    expect(await h.exited).toBe(0);
    expect(started).toEqual([]);
  });

  test("web without WORKERS reads its .env files once, not once to look for WORKERS and again to start", async () => {
    const h = harness();
    const reads: string[] = [];
    const runtime: Runtime = {
      ...h.runtime,
      readTextFile: async (path) => {
        reads.push(path);
        return undefined;
      },
    };
    void createApp({ name: "w", plugins: [web], runtime, env: { LOG_FORMAT: "json" }, envDir: "/nowhere" }).run({
      argv: ["web"],
    });
    await h.until(() => h.lines.some((l) => l.message === "app ready"));
    expect(reads.filter((path) => path.endsWith("/.env")).length).toBe(1);
    h.signal("SIGTERM");
    expect(await h.exited).toBe(0);
  });

  test("WORKERS=2 beside an invalid setting: one process reports every problem once and exits 78", async () => {
    const h = harness();
    void createApp({ name: "w", plugins: [web], runtime: h.runtime, env: { WORKERS: "2", PORT: "no" } }).run({
      argv: ["web"],
    });
    expect(await h.exited).toBe(78);
    expect(h.forked).toEqual([]);
  });

  test("WORKERS on a runtime that cannot start copies is refused with exit 78, naming the runtime", async () => {
    const h = harness();
    const { copies: _none, ...runtime } = h.runtime;
    void createApp({ name: "w", plugins: [web], runtime, env: { WORKERS: "3", LOG_FORMAT: "json" } }).run({
      argv: ["web"],
    });
    expect(await h.exited).toBe(78);
    expect(h.lines.some((l) => String(l.message).includes('the "fake" runtime cannot run copies'))).toBe(true);
  });

  test("a copy (TWELVEFOLD_COPY set) runs the app, binds with reusePort, and logs its index on every line", async () => {
    const h = harness();
    const asked: Array<boolean | undefined> = [];
    const runtime: Runtime = {
      ...h.runtime,
      env: () => ({ [COPY_ENV]: "1", WORKERS: "2", LOG_LEVEL: "info", LOG_FORMAT: "json" }),
      serve: async (options) => {
        asked.push(options.reusePort);
        return { port: 1, hostname: "127.0.0.1", stop: async () => {} };
      },
    };
    const binder = definePlugin({
      name: "binder",
      processes: ["web"],
      async start({ runtime: given }) {
        await given.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
      },
    });
    void createApp({ name: "w", plugins: [binder], runtime }).run({ argv: ["web"] });
    await h.until(() => h.lines.some((l) => l.message === "app ready"));
    expect(asked).toEqual([true]);
    expect(h.lines.find((l) => l.message === "app ready")?.copy).toBe(1);
    expect(h.forked).toEqual([]);
    h.signal("SIGINT"); // the terminal's Ctrl-C: the supervisor, not the copy, acts on it
    await Bun.sleep(20);
    expect(h.lines.some((l) => l.message === "shutdown signal received")).toBe(false);
    h.signal("SIGTERM");
    expect(await h.exited).toBe(0);
  });
});

describe("the runtime's copies", () => {
  test("Bun: a copy runs the command with the extra env; its exit code, or the signal that killed it", async () => {
    const copies = bunCopies(() => ["bun", "-e", `process.exit(Number(process.env.${COPY_ENV}))`]);
    const copy = await copies.fork({ [COPY_ENV]: "3" });
    expect(copy.pid).toBeGreaterThan(0);
    expect(await copy.exited).toEqual({ code: 3, signal: null });
    const sleeper = await bunCopies(() => ["bun", "-e", "setInterval(() => {}, 1000)"]).fork({});
    sleeper.kill("SIGKILL");
    expect(await sleeper.exited).toEqual({ code: null, signal: "SIGKILL" });
  });

  test("watchParent calls back once the parent pid changes, and not before", async () => {
    let ppid = 10;
    let calls = 0;
    const stop = watchParent(() => calls++, { ppid: () => ppid, pollMs: 5 });
    await Bun.sleep(30);
    expect(calls).toBe(0);
    ppid = 1;
    for (let i = 0; i < 200 && calls === 0; i++) await Bun.sleep(5);
    await Bun.sleep(20);
    expect(calls).toBe(1);
    stop();
    bunCopies().onParentGone(() => {})();
    nodeCopies().onParentGone(() => {})();
  });
});
