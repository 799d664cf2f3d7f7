import { describe, expect, test } from "bun:test";
import { type App, type AppOptions, createApp } from "./app.ts";
import { Lifecycle } from "./contracts/health.ts";
import { ConfigError, KernelError, PluginTimeoutError } from "./errors.ts";
import { definePlugin, type Plugin } from "./plugin.ts";
import { markEmbedded, override, token } from "./token.ts";

const A = token<string>("test/A");
const B = token<string>("test/B");

function build(
  plugins: Plugin[],
  options: Partial<AppOptions> = {},
): { app: App; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const app = createApp({
    name: "test",
    plugins,
    env: { ENVIRONMENT: "testing", LOG_LEVEL: "debug", ...options.env },
    log: (line) => logs.push(JSON.parse(line)),
    ...options,
    ...(options.env ? { env: { ENVIRONMENT: "testing", LOG_LEVEL: "debug", ...options.env } } : {}),
  });
  return { app, logs };
}

/** A plugin that records start and stop in `events`. */
function recorder(name: string, events: string[], extra: Partial<Parameters<typeof definePlugin>[0]> = {}) {
  return definePlugin({
    name,
    ...extra,
    start(ctx) {
      events.push(`start ${name}`);
      ctx.onStop(() => {
        events.push(`stop ${name}`);
      });
      return extra.start?.(ctx);
    },
  });
}

describe("start", () => {
  test("starts providers before their users, logs each plugin's start time and the total", async () => {
    const events: string[] = [];
    const { app, logs } = build([
      recorder("user", events, { requires: [B] }),
      recorder("b", events, { requires: [A], provides: [B], start: ({ get, provide }) => provide(B, `${get(A)}b`) }),
      recorder("a", events, { provides: [A], start: ({ provide }) => provide(A, "a") }),
    ]);
    await app.start();
    expect(events).toEqual(["start a", "start b", "start user"]);
    expect(app.get(B)).toBe("ab");
    expect(app.lifecycle.ready).toBe(true);
    const started = logs.filter((l) => l.message === "plugin started");
    expect(started.map((l) => l.plugin)).toEqual(["a", "b", "user"]);
    for (const line of started) expect(typeof line.duration_ms).toBe("number");
    expect(logs.find((l) => l.message === "app ready")).toMatchObject({ plugins: 3, service: "test" });
    await app.stop();
    expect(events.slice(3)).toEqual(["stop user", "stop b", "stop a"]);
  });

  test("independent plugins start concurrently: each waits for the other to have begun", async () => {
    // A rendezvous: if starts ran one after another, the first would wait forever (and time out).
    let arrived = 0;
    let release: () => void = () => {};
    const bothHere = new Promise<void>((resolve) => {
      release = resolve;
    });
    const meet = definePlugin({
      name: "left",
      async start() {
        if (++arrived === 2) release();
        await bothHere;
      },
    });
    const meetToo = definePlugin({
      name: "right",
      async start() {
        if (++arrived === 2) release();
        await bothHere;
      },
    });
    const { app } = build([meet, meetToo], { startTimeoutMs: 2_000 });
    await app.start();
    expect(arrived).toBe(2);
    await app.stop();
  });

  test("a failing start stops what already started, in reverse, and names the plugin", async () => {
    const events: string[] = [];
    const { app, logs } = build([
      recorder("first", events, { provides: [A], start: ({ provide }) => provide(A, "a") }),
      recorder("second", events, { requires: [A], provides: [B], start: ({ provide }) => provide(B, "b") }),
      recorder("broken", events, {
        requires: [B],
        start() {
          throw new Error("cannot open socket");
        },
      }),
      recorder("aborted", events, {
        requires: [B],
        start: ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
      }),
    ]);
    const error = await app.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelError);
    expect((error as KernelError).code).toBe("TF_PLUGIN_START_FAILED");
    expect((error as Error).message).toBe("broken: start failed: cannot open socket");
    expect(((error as Error).cause as Error).message).toBe("cannot open socket");
    const styled = build([
      definePlugin({
        name: "db",
        start() {
          throw new Error('db: cannot connect to "db:5432": connection refused');
        },
      }),
    ]).app;
    await expect(styled.start()).rejects.toThrow('db: start failed: cannot connect to "db:5432": connection refused');
    // "aborted" was starting concurrently with "broken": its start is aborted, and it is stopped too.
    expect(events.filter((e) => e.startsWith("stop")).sort()).toEqual([
      "stop aborted",
      "stop broken",
      "stop first",
      "stop second",
    ]);
    expect(events.slice(-2)).toEqual(["stop second", "stop first"]);
    expect(app.phase).toBe("failed");
    expect(app.lifecycle.ready).toBe(false);
    expect(logs.some((l) => l.message === "app ready")).toBe(false);
  });

  test("a start that hangs times out with an error naming the plugin; its signal is aborted", async () => {
    let aborted: unknown;
    const events: string[] = [];
    const { app } = build([
      recorder("ok", events),
      definePlugin({
        name: "hangs",
        startTimeoutMs: 50,
        start({ signal }) {
          return new Promise((_, reject) => {
            signal.addEventListener("abort", () => {
              aborted = signal.reason;
              reject(signal.reason);
            });
          });
        },
      }),
    ]);
    const error = await app.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginTimeoutError);
    expect((error as Error).message).toBe("hangs: start did not finish within 50 ms");
    expect(aborted).toBeInstanceOf(PluginTimeoutError);
    expect(events).toContain("stop ok");
  });

  test("ready hooks run once every plugin has started, in start order, before readiness", async () => {
    const events: string[] = [];
    const { app, logs } = build([
      recorder("user", events, {
        requires: [A],
        start: ({ onReady, lifecycle }) => onReady(() => void events.push(`ready user (ready: ${lifecycle.ready})`)),
      }),
      recorder("a", events, {
        provides: [A],
        start: ({ provide, onReady }) => {
          provide(A, "a");
          onReady(() => void events.push("ready a"));
        },
      }),
    ]);
    await app.start();
    expect(events).toEqual(["start a", "start user", "ready a", "ready user (ready: false)"]);
    expect(logs.at(-1)?.message).toBe("app ready");
    await app.stop();
  });

  test("a failing ready hook fails the start, names the plugin and stops everything", async () => {
    const events: string[] = [];
    const { app } = build([
      recorder("router", events, {
        start: ({ onReady }) =>
          onReady(() => {
            throw new Error("route table conflict");
          }),
      }),
    ]);
    await expect(app.start()).rejects.toThrow("router: ready hook failed: route table conflict");
    expect(events).toEqual(["start router", "stop router"]);
    expect(app.lifecycle.ready).toBe(false);
  });

  test("asking for a token nobody provides names the token and the plugin that asked", async () => {
    const Optional = token<string>("test/Optional");
    const { app } = build([
      definePlugin({
        name: "asker",
        optional: [Optional],
        start({ get }) {
          get(Optional);
        },
      }),
    ]);
    await expect(app.start()).rejects.toThrow('asker: asked for "test/Optional", which nobody provides');
  });

  test("asking for an undeclared token, or providing one, is an error naming both", async () => {
    const { app } = build([
      definePlugin({ name: "a", provides: [A], start: ({ provide }) => provide(A, "a") }),
      definePlugin({
        name: "sneaky",
        start({ get }) {
          get(A);
        },
      }),
    ]);
    await expect(app.start()).rejects.toThrow('sneaky: asked for "test/A" without listing it in requires or optional');
    const { app: other } = build([definePlugin({ name: "liar", start: ({ provide }) => provide(A, "a") })]);
    await expect(other.start()).rejects.toThrow('liar: provided "test/A" without listing it in provides');
  });

  test("a declared token left unprovided is an error", async () => {
    const { app } = build([definePlugin({ name: "lazy", provides: [A], start() {} })]);
    await expect(app.start()).rejects.toThrow('lazy: declared that it provides "test/A" but did not provide it');
  });

  test("overrides replace what a plugin provides", async () => {
    const { app } = build(
      [
        definePlugin({ name: "a", provides: [A], start: ({ provide }) => provide(A, "real") }),
        definePlugin({ name: "user", requires: [A], start: ({ get, logger }) => logger.info(get(A)) }),
      ],
      { overrides: [override(A, "fake")] },
    );
    await app.start();
    expect(app.get(A)).toBe("fake");
    await app.stop();
  });

  test("fallbacks fill a missing provider, and production refuses one that would lose data", async () => {
    const Jobs = token<object>("test/Jobs", {
      fallback: () => markEmbedded({ kind: "memory" }, { name: "memory Jobs", losesData: true }),
    });
    const user = definePlugin({ name: "user", requires: [Jobs], start() {} });
    const { app } = build([user]);
    await app.start();
    expect(app.get(Jobs)).toEqual({ kind: "memory" });
    await app.stop();

    const { app: prod } = build([user], { env: { ENVIRONMENT: "production", LOG_LEVEL: "silent" } });
    const error = (await prod.start().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain("test/Jobs (kernel): expected a durable adapter in production");
    expect(error.message).toContain("the memory Jobs, which loses data on restart");
  });

  test("a plugin providing an embedded adapter that loses data is refused in production", async () => {
    const events: string[] = [];
    const embedded = recorder("embedded-db", events, {
      provides: [A],
      start: ({ provide }) => provide(A, markEmbedded(new String("x"), { name: "PGlite", losesData: true }) as never),
    });
    const { app } = build([embedded], { env: { ENVIRONMENT: "production" } });
    await expect(app.start()).rejects.toBeInstanceOf(ConfigError);
    expect(events).toEqual(["start embedded-db", "stop embedded-db"]);
  });
});

describe("stop", () => {
  test("drain waits for tracked work and onDrain hooks, then stops plugins in reverse", async () => {
    const events: string[] = [];
    let finish: () => void = () => {};
    const { app } = build([
      recorder("a", events, { provides: [A], start: ({ provide }) => provide(A, "a") }),
      recorder("worker", events, {
        requires: [A, Lifecycle],
        start({ lifecycle, onDrain, signal }) {
          lifecycle.track(
            new Promise<void>((resolve) => {
              finish = () => {
                events.push("job done");
                resolve();
              };
            }),
          );
          onDrain(async () => {
            events.push(`drain (signal aborted: ${signal.aborted})`);
          });
        },
      }),
    ]);
    await app.start();
    const stopping = app.stop();
    expect(app.lifecycle.ready).toBe(false);
    expect(app.lifecycle.draining.aborted).toBe(true);
    await Bun.sleep(20);
    expect(events).not.toContain("stop worker");
    finish();
    await stopping;
    expect(events.slice(2)).toEqual(["drain (signal aborted: true)", "job done", "stop worker", "stop a"]);
    expect(app.phase).toBe("stopped");
  });

  test("work still running at SHUTDOWN_TIMEOUT_MS fails the stop, and plugins are stopped anyway", async () => {
    const events: string[] = [];
    let deadlineSeen = false;
    const { app, logs } = build(
      [
        recorder("busy", events, {
          start({ lifecycle, onDrain }) {
            lifecycle.track(new Promise(() => {}));
            onDrain((deadline) => {
              return new Promise<void>((resolve) =>
                deadline.addEventListener("abort", () => {
                  deadlineSeen = true;
                  resolve();
                }),
              );
            });
          },
        }),
      ],
      { env: { SHUTDOWN_TIMEOUT_MS: "50" } },
    );
    await app.start();
    const error = (await app.stop().catch((e: unknown) => e)) as AggregateError;
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.errors[0]).toBeInstanceOf(PluginTimeoutError);
    expect(deadlineSeen).toBe(true);
    expect(events).toContain("stop busy");
    expect(logs.find((l) => l.message === "drain deadline passed: abandoning in-flight work")).toMatchObject({
      in_flight: 1,
    });
  });

  test("a stuck stop is named, the others still stop, and every problem is reported together", async () => {
    const events: string[] = [];
    const { app, logs } = build([
      recorder("first", events),
      definePlugin({
        name: "stuck",
        stopTimeoutMs: 30,
        start: ({ onStop }) => onStop(() => new Promise(() => {})),
      }),
      definePlugin({
        name: "throws",
        start: ({ onStop }) =>
          onStop(() => {
            throw new Error("close failed");
          }),
      }),
    ]);
    await app.start();
    const error = (await app.stop().catch((e: unknown) => e)) as AggregateError;
    expect(error.errors.map((e: Error) => e.message).sort()).toEqual([
      "close failed",
      "stuck: stop did not finish within 30 ms",
    ]);
    expect(events).toContain("stop first");
    expect(logs.find((l) => l.message === "plugin stop timed out")).toMatchObject({ plugin: "stuck" });
    expect(logs.find((l) => l.message === "plugin stop failed")).toMatchObject({ plugin: "throws" });
  });

  test("stop is idempotent and stops only what started", async () => {
    const events: string[] = [];
    const { app } = build([recorder("one", events)]);
    await app.stop();
    expect(events).toEqual([]);
    const { app: started } = build([recorder("two", events)]);
    await started.start();
    await Promise.all([started.stop(), started.stop()]);
    await started.stop();
    expect(events).toEqual(["start two", "stop two"]);
  });

  test("await using stops the app at the end of the scope", async () => {
    const events: string[] = [];
    {
      await using app = build([recorder("scoped", events)]).app;
      await app.start();
    }
    expect(events).toEqual(["start scoped", "stop scoped"]);
  });

  test("a stop during start interrupts it: what started is stopped, the rest never starts", async () => {
    const events: string[] = [];
    let gate: () => void = () => {};
    const { app } = build([
      recorder("slow", events, {
        provides: [A],
        async start({ provide }) {
          await new Promise<void>((resolve) => {
            gate = resolve;
          });
          provide(A, "a");
        },
      }),
      recorder("after", events, { requires: [A] }),
    ]);
    const starting = app.start().catch((e: unknown) => e);
    await Bun.sleep(5);
    const stopping = app.stop();
    gate();
    await stopping;
    expect(await starting).toBeInstanceOf(Error);
    expect(events).toEqual(["start slow", "stop slow"]);
    // A clean stop ended the start: nothing failed.
    expect(app.phase).toBe("stopped");
    expect(app.lifecycle.ready).toBe(false);
  });
});

describe("health", () => {
  test("aggregates each plugin's check with its latency; the worst status wins; errors are down", async () => {
    const { app } = build(
      [
        definePlugin({ name: "db", start() {}, health: () => ({ status: "up" }) }),
        definePlugin({ name: "cache", start() {}, health: () => ({ status: "degraded", detail: "replica lag" }) }),
        definePlugin({
          name: "llm",
          start() {},
          health() {
            throw new Error("provider unreachable");
          },
        }),
        definePlugin({ name: "slow", start() {}, health: () => new Promise(() => {}) }),
      ],
      { healthTimeoutMs: 30 },
    );
    await app.start();
    const report = await app.lifecycle.health();
    expect(report.status).toBe("down");
    expect(report.checks.db?.status).toBe("up");
    expect(report.checks.cache).toMatchObject({ status: "degraded", detail: "replica lag" });
    expect(report.checks.llm).toMatchObject({ status: "down", detail: "provider unreachable" });
    expect(report.checks.slow).toMatchObject({ status: "down", detail: "slow: health did not finish within 30 ms" });
    expect(typeof report.checks.db?.latencyMs).toBe("number");
    expect(report).toMatchObject({ name: "test", environment: "testing" });
    await app.stop();
  });
});
