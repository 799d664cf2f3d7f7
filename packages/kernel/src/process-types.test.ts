import { describe, expect, test } from "bun:test";
import { fakeRuntime } from "@twelvefold/testing";
import * as v from "valibot";
import { createApp } from "./app.ts";
import { env } from "./config.ts";
import { ConfigError, GraphError } from "./errors.ts";
import { definePlugin, type Plugin, type PluginDefinition } from "./plugin.ts";
import { inProcesses, parseProcessArgs, processUsage, runsIn } from "./process-types.ts";
import { token } from "./token.ts";

const base = { ENVIRONMENT: "testing", LOG_LEVEL: "info" };

/** A plugin that records its start in `started`. */
function plugin(name: string, started: string[], extra: Partial<PluginDefinition<Record<string, never>>> = {}) {
  return definePlugin({
    name,
    ...extra,
    start(context) {
      started.push(name);
      return extra.start?.(context);
    },
  });
}

describe("parseProcessArgs", () => {
  test("reads a type, a mix, dev, nothing, admin with its arguments, help, and refuses the rest", () => {
    const types = (argv: string[]) => {
      const request = parseProcessArgs(argv);
      return request.kind === "run" ? [...request.types] : request;
    };
    expect(types(["web"])).toEqual(["web"]);
    expect(types(["worker,scheduler"])).toEqual(["worker", "scheduler"]);
    expect(types(["dev"])).toEqual(["web", "worker", "scheduler"]);
    expect(types([])).toEqual(["web", "worker", "scheduler"]);
    expect(parseProcessArgs(["admin", "migrate", "--status"])).toEqual({
      kind: "admin",
      argv: ["migrate", "--status"],
    });
    expect(parseProcessArgs(["--help"])).toEqual({ kind: "help" });
    expect(parseProcessArgs(["wroker"])).toEqual({ kind: "unknown", given: "wroker" });
    expect(parseProcessArgs(["web,admin"])).toEqual({ kind: "unknown", given: "web,admin" });
  });

  test("a selector is a list of types or a predicate; no selector runs everywhere", () => {
    const web = new Set(["web"] as const);
    const dev = new Set(["web", "worker", "scheduler"] as const);
    expect(runsIn({ processes: undefined }, web)).toBe(true);
    expect(runsIn({ processes: ["worker"] }, web)).toBe(false);
    expect(runsIn({ processes: ["worker"] }, dev)).toBe(true);
    const management = { processes: (t: ReadonlySet<string>) => !t.has("web") && t.has("worker") };
    expect(runsIn(management, dev)).toBe(false);
    expect(runsIn(management, new Set(["worker"] as const))).toBe(true);
  });
});

describe("process types", () => {
  test("only the plugins that run in this process start; the others' config is not required", async () => {
    const started: string[] = [];
    const plugins: Plugin[] = [
      plugin("everywhere", started),
      definePlugin({
        name: "web-only",
        processes: ["web"],
        config: { SECRET_KEY: env.string({ minLength: 32 }) },
        start: () => void started.push("web-only"),
      }),
      plugin("consumer", started, { processes: ["worker"] }),
    ];
    const worker = createApp({ name: "t", plugins, process: "worker", env: base, log: () => {} });
    await worker.start();
    expect(started).toEqual(["everywhere", "consumer"]);
    expect([...worker.processes]).toEqual(["worker"]);
    await worker.stop();

    const web = createApp({ name: "t", plugins, process: "web", env: base, log: () => {} });
    const error = await web.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => [i.plugin, i.name])).toEqual([["web-only", "SECRET_KEY"]]);
  });

  test("with no process given, an app runs web, worker and scheduler, and tells its plugins so", async () => {
    const seen: string[][] = [];
    const started: string[] = [];
    const app = createApp({
      name: "t",
      plugins: [
        plugin("web", started, { processes: ["web"], start: ({ processes }) => void seen.push([...processes]) }),
        plugin("cron", started, { processes: ["scheduler"] }),
        plugin("tasks", started, { processes: ["admin"] }),
      ],
      env: base,
      log: () => {},
    });
    await app.start();
    expect(started).toEqual(["web", "cron"]);
    expect(seen).toEqual([["web", "worker", "scheduler"]]);
    await app.stop();
  });

  test("a plugin needing a token whose provider runs elsewhere fails naming both and the process", async () => {
    const Database = token<string>("test/Database");
    const app = createApp({
      name: "t",
      plugins: [
        definePlugin({
          name: "db",
          processes: ["web"],
          provides: [Database],
          start: ({ provide }) => provide(Database, "d"),
        }),
        definePlugin({ name: "jobs", processes: ["worker"], requires: [Database], start() {} }),
      ],
      process: ["worker", "scheduler"],
      env: base,
      log: () => {},
    });
    const error = await app.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect((error as Error).message).toBe(
      'graph: "jobs" requires "test/Database", which "db" provides, but "db" does not run in the worker and scheduler process: run "jobs" only where "db" runs, or "db" here too',
    );
  });

  test("inProcesses moves a plugin; an unknown type is refused at once", async () => {
    const started: string[] = [];
    const moved = inProcesses(["worker"], plugin("metrics", started));
    const app = createApp({ name: "t", plugins: [moved], process: "web", env: base, log: () => {} });
    await app.start();
    expect(started).toEqual([]);
    await app.stop();
    expect(() => inProcesses(["wroker" as "worker"], moved)).toThrow('plugin "metrics": unknown process type "wroker"');
    expect(() => definePlugin({ name: "x", processes: ["db" as "web"], start() {} })).toThrow(
      'plugin "x": unknown process type "db": use web, worker, scheduler, admin',
    );
    expect(() => createApp({ name: "t", plugins: [], process: "cron" as "web" })).toThrow(
      'createApp: unknown process type "cron"',
    );
  });

  test("inspectConfig shows the config of this process type, or of the one asked for", async () => {
    const plugins = [
      definePlugin({ name: "http", processes: ["web"], config: { PORT: v.optional(env.port(), "8000") }, start() {} }),
      definePlugin({
        name: "worker",
        processes: ["worker"],
        config: { WORKER_CONCURRENCY: v.optional(env.integer({ min: 1 }), "4") },
        start() {},
      }),
    ];
    const app = createApp({ name: "t", plugins, process: "worker", env: base });
    const names = (entries: Array<{ name: string }>) => entries.map((e) => e.name);
    expect(names(await app.inspectConfig())).toContain("WORKER_CONCURRENCY");
    expect(names(await app.inspectConfig())).not.toContain("PORT");
    expect(names(await app.inspectConfig({ process: "web" }))).toContain("PORT");
  });
});

describe("run() reads the process type from the command line", () => {
  test("`worker` starts the worker's plugins only, and SIGTERM exits 0", async () => {
    const started: string[] = [];
    const fake = fakeRuntime(base, ["worker"]);
    const app = createApp({
      name: "t",
      plugins: [
        plugin("http", started, { processes: ["web"] }),
        plugin("consumer", started, { processes: ["worker"] }),
      ],
      runtime: fake.runtime,
    });
    void app.run();
    while (!fake.logs().some((l) => l.message === "app ready")) await Bun.sleep(1);
    expect(started).toEqual(["consumer"]);
    fake.signal("SIGTERM");
    expect(await fake.exited).toBe(0);
  });

  test("an unknown type prints the usage on stderr and exits 2; help prints it on stdout and exits 0", async () => {
    const wrong = fakeRuntime(base, ["wroker"]);
    void createApp({ name: "agent", plugins: [], runtime: wrong.runtime }).run();
    expect(await wrong.exited).toBe(2);
    expect(wrong.stderr[0]).toBe('agent: unknown process type "wroker"');
    expect(wrong.stderr.join("\n")).toContain(processUsage("agent"));

    const help = fakeRuntime(base, ["help"]);
    void createApp({ name: "agent", plugins: [], runtime: help.runtime }).run();
    expect(await help.exited).toBe(0);
    expect(help.stdout.join("\n")).toBe(processUsage("agent"));
  });
});
