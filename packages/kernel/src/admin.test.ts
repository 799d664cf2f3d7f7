import { describe, expect, test } from "bun:test";
import { fakeRuntime } from "@twelvefold/testing";
import * as v from "valibot";
import { type AppOptions, createApp } from "./app.ts";
import { type Command, defineCommand } from "./command.ts";
import { env, secret } from "./config.ts";
import { definePlugin } from "./plugin.ts";
import { token } from "./token.ts";

const Greeting = token<string>("test/Greeting");
const base = { ENVIRONMENT: "testing", LOG_LEVEL: "info", LOG_FORMAT: "json" };

/** Runs `admin ...argv` against an app of `plugins` and `commands`; resolves with what the process did. */
async function admin(
  argv: string[],
  options: { plugins?: AppOptions["plugins"]; commands?: Command[]; env?: Record<string, string> } = {},
) {
  const events: string[] = [];
  const fake = fakeRuntime({ ...base, ...options.env }, ["admin", ...argv]);
  const greeter = definePlugin({
    name: "greeter",
    config: { GREETING: v.optional(env.string(), "hello") },
    provides: [Greeting],
    start({ config, provide, onStop }) {
      events.push("start greeter");
      provide(Greeting, config.GREETING);
      onStop(() => void events.push("stop greeter"));
    },
  });
  const web = definePlugin({
    name: "web",
    processes: ["web"],
    config: { PORT: v.optional(env.port(), "8000") },
    start: () => void events.push("start web"),
  });
  const app = createApp({
    name: "agent",
    plugins: [greeter, web, ...(options.plugins ?? [])],
    commands: options.commands,
    runtime: fake.runtime,
  });
  void app.run();
  const code = await fake.exited;
  return { code, events, ...fake };
}

const greet = defineCommand({
  name: "greet",
  description: "Say hello to someone",
  args: v.object({ who: v.pipe(v.string(), v.minLength(1)) }),
  positional: ["who"],
  run({ args, get, print, logger }) {
    logger.info("greeting", { who: args.who });
    print(`${get(Greeting)}, ${args.who}`);
  },
});

describe("admin", () => {
  test("runs the command after starting the admin plugins (never web), prints to stdout, logs to stderr, exits 0", async () => {
    const r = await admin(["greet", "ada"], { commands: [greet] });
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual(["hello, ada"]);
    expect(r.events).toEqual(["start greeter", "stop greeter"]);
    const messages = r.logs().map((l) => l.message);
    expect(messages).toContain("greeting");
    expect(messages).toContain("app stopped");
    expect(r.logs().find((l) => l.message === "greeting")).toMatchObject({ command: "greet", who: "ada" });
  });

  test("a command that fails exits 1 after everything stopped", async () => {
    const broken = defineCommand({
      name: "break",
      description: "Fail on purpose",
      run() {
        throw new Error("the seed file is missing");
      },
    });
    const r = await admin(["break"], { commands: [broken] });
    expect(r.code).toBe(1);
    expect(r.events).toEqual(["start greeter", "stop greeter"]);
    const failed = r.logs().find((l) => l.message === "command failed");
    expect(JSON.stringify(failed?.error)).toContain("the seed file is missing");
  });

  test("no command or an unknown one exits 2 with every command and its description on stderr", async () => {
    const plugin = definePlugin({
      name: "db",
      commands: [defineCommand({ name: "migrate", description: "Apply pending migrations", run() {} })],
      start() {},
    });
    for (const argv of [[], ["migarte"]]) {
      const r = await admin(argv, { plugins: [plugin], commands: [greet] });
      expect(r.code).toBe(2);
      expect(r.events).toEqual([]);
      const text = r.stderr.join("\n");
      if (argv.length > 0) expect(r.stderr[0]).toBe('admin: unknown command "migarte"');
      expect(text).toContain("usage: agent admin <command> [args]");
      expect(text).toMatch(/config .*Print the effective config/);
      expect(text).toMatch(/migrate +Apply pending migrations/);
      expect(text).toMatch(/greet <who> +Say hello to someone/);
      expect(r.stdout).toEqual([]);
    }
  });

  test("help lists the commands on stdout and exits 0", async () => {
    const r = await admin(["help"], { commands: [greet] });
    expect(r.code).toBe(0);
    expect(r.stdout.join("\n")).toMatch(/greet <who> +Say hello to someone/);
  });

  test("bad arguments exit 2 with the reason and the command's usage, before anything starts", async () => {
    const r = await admin(["greet"], { commands: [greet] });
    expect(r.code).toBe(2);
    expect(r.events).toEqual([]);
    expect(r.stderr[0]).toStartWith("admin: greet: bad arguments: <who>:");
    expect(r.stderr.at(-1)).toBe("usage: agent admin greet <who>");
  });

  test("bad config exits 78 naming the setting; a command's own settings are checked with the app's", async () => {
    const mailer = defineCommand({
      name: "mail",
      description: "Send the digest",
      config: { SMTP_URL: env.url({ protocols: ["smtp:"] }) },
      run() {},
    });
    const r = await admin(["mail"], { commands: [mailer], env: { LOG_LEVEL: "loud" } });
    expect(r.code).toBe(78);
    expect(r.events).toEqual([]);
    const issues = r.logs().find((l) => String(l.message).startsWith("config:"))?.issues as Array<{ name: string }>;
    expect(issues.map((i) => i.name).sort()).toEqual(["LOG_LEVEL", "SMTP_URL"]);
  });

  test("SIGTERM aborts the command's signal; the process exits 143 once it and the app stopped (130 for SIGINT)", async () => {
    for (const [signal, expected] of [
      ["SIGTERM", 143],
      ["SIGINT", 130],
    ] as const) {
      const seen: string[] = [];
      const fake = fakeRuntime(base, ["admin", "wait"]);
      const wait = defineCommand({
        name: "wait",
        description: "Wait until stopped",
        async run({ signal: aborted }) {
          seen.push("running");
          await new Promise((resolve) => aborted.addEventListener("abort", resolve, { once: true }));
          await Bun.sleep(5);
          seen.push("cleaned up");
        },
      });
      const held = definePlugin({ name: "held", start: ({ onStop }) => onStop(() => void seen.push("app stopped")) });
      void createApp({ name: "agent", plugins: [held], commands: [wait], runtime: fake.runtime }).run();
      while (!seen.includes("running")) await Bun.sleep(1);
      fake.signal(signal);
      expect(await fake.exited).toBe(expected);
      expect(seen).toEqual(["running", "cleaned up", "app stopped"]);
    }
  });

  test("a signal while the app is still starting interrupts the start and exits 143; the command never runs", async () => {
    const fake = fakeRuntime(base, ["admin", "once"]);
    let ran = false;
    let starting = false;
    const once = defineCommand({
      name: "once",
      description: "Run once",
      run() {
        ran = true;
      },
    });
    const slow = definePlugin({
      name: "slow",
      start: ({ signal }) =>
        new Promise<void>((_, reject) => {
          starting = true;
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
    });
    void createApp({ name: "agent", plugins: [slow], commands: [once], runtime: fake.runtime }).run();
    while (!starting) await Bun.sleep(1);
    fake.signal("SIGTERM");
    expect(await fake.exited).toBe(143);
    expect(ran).toBe(false);
  });

  test("a command that succeeds but whose app fails to stop exits 1", async () => {
    const fake = fakeRuntime(base, ["admin", "once"]);
    const once = defineCommand({ name: "once", description: "Run once", run() {} });
    const leaky = definePlugin({
      name: "leaky",
      start: ({ onStop }) =>
        onStop(() => {
          throw new Error("leaky: pool did not close");
        }),
    });
    void createApp({ name: "agent", plugins: [leaky], commands: [once], runtime: fake.runtime }).run();
    expect(await fake.exited).toBe(1);
    expect(fake.logs().some((l) => l.message === "admin: stop failed")).toBe(true);
  });

  test("a second signal exits at once, without waiting for the command", async () => {
    const fake = fakeRuntime(base, ["admin", "stuck"]);
    let running = false;
    const stuck = defineCommand({
      name: "stuck",
      description: "Ignore the signal",
      run: () => {
        running = true;
        return new Promise<void>(() => {});
      },
    });
    void createApp({ name: "agent", plugins: [], commands: [stuck], runtime: fake.runtime }).run();
    while (!running) await Bun.sleep(1);
    fake.signal("SIGTERM");
    fake.signal("SIGINT");
    expect(await fake.exited).toBe(130);
    expect(fake.logs().some((l) => l.message === "second signal: exiting without waiting for the command")).toBe(true);
  });

  test("an uncaught error during a command aborts it and exits 1 after cleanup", async () => {
    const fake = fakeRuntime(base, ["admin", "wait"]);
    let running = false;
    const wait = defineCommand({
      name: "wait",
      description: "Wait until stopped",
      run: ({ signal }) =>
        new Promise<void>((resolve) => {
          running = true;
          signal.addEventListener("abort", () => resolve(), { once: true });
        }),
    });
    void createApp({ name: "agent", plugins: [], commands: [wait], runtime: fake.runtime }).run();
    while (!running) await Bun.sleep(1);
    fake.fatal(new Error("socket hang up"));
    expect(await fake.exited).toBe(1);
    expect(fake.logs().find((l) => l.message === "uncaught exception")).toBeDefined();
  });

  test("config prints each value with its source, secrets redacted, for admin or the process asked for", async () => {
    const keyed = definePlugin({
      name: "auth",
      config: { SECRET_KEY: secret(env.string({ minLength: 8 })) },
      start() {},
    });
    const values = { SECRET_KEY: "correct-horse-battery", GREETING: "hi" };
    const r = await admin(["config"], { plugins: [keyed], env: values });
    expect(r.code).toBe(0);
    expect(r.events).toEqual([]);
    const table = r.stdout.join("\n");
    expect(table).toMatch(/^NAME +VALUE +SOURCE +USED BY$/m);
    expect(table).toMatch(/^GREETING +hi +process env +greeter$/m);
    expect(table).toMatch(/^SECRET_KEY +\[redacted\] +process env +auth$/m);
    expect(table).not.toContain("PORT");
    expect([...r.stdout, ...r.stderr].join("\n")).not.toContain("correct-horse-battery");

    const web = await admin(["config", "--process=web"], { plugins: [keyed], env: values });
    expect(web.stdout.join("\n")).toMatch(/^PORT +8000 +default +web$/m);
    const bad = await admin(["config", "--process=cron"], { plugins: [keyed], env: values });
    expect(bad.code).toBe(2);
    const invalid = await admin(["config"], { plugins: [keyed], env: { SECRET_KEY: "short" } });
    expect(invalid.code).toBe(78);
    expect(invalid.stdout).toEqual([]);
  });

  test("a command that does not start the app still reads its settings over the profile defaults of the admin plugins", async () => {
    const defaults = definePlugin({
      name: "defaults",
      defaults: { testing: { SIGNING_KEY: "from-the-testing-profile" } },
      start() {},
    });
    const show = defineCommand({
      name: "show",
      description: "Print a setting",
      config: { SIGNING_KEY: v.optional(env.string()) },
      startsApp: false,
      run: ({ config, print }) => print(String(config.SIGNING_KEY)),
    });
    const r = await admin(["show"], { plugins: [defaults], commands: [show] });
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual(["from-the-testing-profile"]);
    expect(r.events).toEqual([]);
  });

  test("a command that does not start the app cannot read services, and says so", async () => {
    const peek = defineCommand({
      name: "peek",
      description: "Read a service without starting",
      startsApp: false,
      run({ get, find }) {
        expect(find(Greeting)).toBeUndefined();
        get(Greeting);
      },
    });
    const r = await admin(["peek"], { commands: [peek] });
    expect(r.code).toBe(1);
    expect(r.events).toEqual([]);
    expect(JSON.stringify(r.logs().find((l) => l.message === "command failed"))).toContain(
      'admin: peek: asked for \\"test/Greeting\\", but this command runs without starting the app',
    );
  });

  test("a plugin that fails to start exits 1 and the command never runs", async () => {
    let ran = false;
    const once = defineCommand({
      name: "once",
      description: "Run once",
      run() {
        ran = true;
      },
    });
    const broken = definePlugin({
      name: "db",
      start() {
        throw new Error('db: cannot connect to "db:5432": connection refused');
      },
    });
    const r = await admin(["once"], { plugins: [broken], commands: [once] });
    expect(r.code).toBe(1);
    expect(ran).toBe(false);
    expect(r.logs().some((l) => l.message === "admin: the app failed to start")).toBe(true);
  });
});
