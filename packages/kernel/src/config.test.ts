import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { createApp } from "./app.ts";
import { env, resolveConfig, secret } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { definePlugin } from "./plugin.ts";

const dirs: string[] = [];
async function envDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tf-config-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const probe = definePlugin({
  name: "probe",
  config: {
    FROM_ENV: v.optional(env.string(), "schema"),
    FROM_LOCAL: v.optional(env.string(), "schema"),
    FROM_PROFILE_FILE: v.optional(env.string(), "schema"),
    FROM_BASE: v.optional(env.string(), "schema"),
    FROM_PROFILE: v.optional(env.string(), "schema"),
    FROM_SCHEMA: v.optional(env.string(), "schema"),
  },
  defaults: { staging: { FROM_ENV: "profile", FROM_LOCAL: "profile", FROM_PROFILE: "profile" } },
  start() {},
});

describe("config layering", () => {
  test("process env > .env.<ENVIRONMENT>.local > .env.<ENVIRONMENT> > .env > profile defaults > schema", async () => {
    const dir = await envDir({
      ".env": "ENVIRONMENT=staging\nFROM_ENV=base\nFROM_LOCAL=base\nFROM_PROFILE_FILE=base\nFROM_BASE=base\n",
      ".env.staging": "FROM_ENV=staging\nFROM_LOCAL=staging\nFROM_PROFILE_FILE=staging\n",
      ".env.staging.local": "FROM_ENV=local\nFROM_LOCAL=local\n",
      ".env.production": "FROM_BASE=wrong-profile\n",
    });
    const app = createApp({ name: "t", plugins: [probe], env: { FROM_ENV: "env" }, envDir: dir });
    const rows = Object.fromEntries((await app.inspectConfig()).map((e) => [e.name, `${e.value} <- ${e.source}`]));
    expect(rows).toMatchObject({
      ENVIRONMENT: "staging <- .env",
      FROM_ENV: "env <- process env",
      FROM_LOCAL: "local <- .env.staging.local",
      FROM_PROFILE_FILE: "staging <- .env.staging",
      FROM_BASE: "base <- .env",
      FROM_PROFILE: "profile <- staging profile",
      FROM_SCHEMA: "schema <- default",
      LOG_LEVEL: "info <- staging profile",
    });
  });

  test("every problem of every plugin is reported at once, each with name, expected, got and source", async () => {
    const a = definePlugin({
      name: "a",
      config: { PORT: v.optional(env.port(), "8000"), WORKERS: env.integer({ min: 1 }) },
      start() {},
    });
    const b = definePlugin({
      name: "b",
      config: { DATABASE_URL: env.url({ protocols: ["postgres:", "postgresql:"] }), DEBUG: env.boolean() },
      start() {},
    });
    const app = createApp({
      name: "t",
      plugins: [a, b],
      env: { PORT: "eighty", DATABASE_URL: "mysql://x", DEBUG: "maybe", LOG_LEVEL: "chatty" },
    });
    const error = (await app.start().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe("TF_CONFIG_INVALID");
    expect(error.issues.map((i) => i.name).sort()).toEqual(["DATABASE_URL", "DEBUG", "LOG_LEVEL", "PORT", "WORKERS"]);
    expect(error.message).toContain('PORT (a): expected an integer from 0 to 65535, got "eighty" [from process env]');
    // A bound on one side reads as one; a missing required setting says so, not "[from default]".
    expect(error.message).toContain("WORKERS (a): expected an integer of at least 1, but it is not set");
    expect(error.message).not.toContain("[from default]");
    expect(error.message).toContain(
      'DATABASE_URL (b): expected a URL starting postgres: or postgresql://, got "mysql://x"',
    );
    expect(app.phase).toBe("failed");
  });

  test("a URL that does not parse is a config problem, also where only some protocols are allowed", async () => {
    const plugin = definePlugin({
      name: "db",
      config: { DATABASE_URL: env.url({ protocols: ["postgres:"] }), WEBHOOK_URL: env.url() },
      start() {},
    });
    const app = createApp({ name: "t", plugins: [plugin], env: { DATABASE_URL: "not a url", WEBHOOK_URL: "::" } });
    const error = (await app.start().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('DATABASE_URL (db): expected a URL starting postgres://, got "not a url"');
    expect(error.message).toContain('WEBHOOK_URL (db): expected an absolute URL, got "::"');
  });

  test("a secret's value never appears in an error, in the printed config or in a log line", async () => {
    const lines: string[] = [];
    const value = "hunter2-but-longer";
    const plugin = definePlugin({
      name: "auth",
      config: { SECRET_KEY: secret(env.string({ minLength: 32 })), API_TOKEN: secret(env.string()) },
      start({ logger, config }) {
        logger.info(`token is ${config.API_TOKEN}`, { nested: { deeper: [config.API_TOKEN] } });
      },
    });
    const bad = createApp({ name: "t", plugins: [plugin], env: { SECRET_KEY: value, API_TOKEN: "tok-123456" } });
    const error = (await bad.start().catch((e: unknown) => e)) as ConfigError;
    expect(error.message).toContain("SECRET_KEY (auth): expected a string of at least 32 characters, got [redacted]");
    expect(JSON.stringify(error.issues)).not.toContain(value);

    const good = createApp({
      name: "t",
      plugins: [plugin],
      env: { SECRET_KEY: "x".repeat(40), API_TOKEN: "tok-123456", LOG_LEVEL: "info" },
      log: (line) => lines.push(line),
    });
    const printed = await good.inspectConfig();
    expect(printed.find((e) => e.name === "API_TOKEN")).toMatchObject({ value: "[redacted]", secret: true });
    await good.start();
    await good.stop();
    const logged = lines.join("\n");
    expect(logged).toContain("token is [redacted]");
    expect(logged).not.toContain("tok-123456");
  });

  test("config may depend on the profile: production asks more of a secret", async () => {
    const plugin = definePlugin({
      name: "auth",
      config: (profile) => ({
        SECRET_KEY: secret(profile === "production" ? env.string({ minLength: 32 }) : env.string()),
      }),
      start() {},
    });
    const dev = createApp({ name: "t", plugins: [plugin], env: { SECRET_KEY: "short", LOG_LEVEL: "silent" } });
    await dev.start();
    await dev.stop();
    const prod = createApp({ name: "t", plugins: [plugin], env: { SECRET_KEY: "short", ENVIRONMENT: "production" } });
    await expect(prod.start()).rejects.toThrow("SECRET_KEY (auth): expected a string of at least 32 characters");
  });

  test("an unknown ENVIRONMENT is reported with every other problem, listing the profiles", async () => {
    const other = definePlugin({ name: "other", config: { POOL_SIZE: env.integer({ min: 1 }) }, start() {} });
    const app = createApp({ name: "t", plugins: [other], env: { ENVIRONMENT: "prod", POOL_SIZE: "none" } });
    const error = (await app.start().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(
      'ENVIRONMENT (kernel): expected one of development, testing, staging, production, got "prod"',
    );
    expect(error.issues.map((i) => i.name)).toEqual(["ENVIRONMENT", "POOL_SIZE"]);
  });

  test("a missing string with a minimum length says the length it needs", () => {
    const resolved = resolveConfig(
      [
        {
          plugin: "auth",
          shape: { SECRET_KEY: secret(env.string({ minLength: 32 })), NAME: env.string({ maxLength: 8 }) },
        },
      ],
      [{ name: "process env", values: { NAME: "far-too-long" } }],
      "production",
    );
    expect(resolved.issues.map((i) => i.expected)).toEqual([
      "a string of at least 32 characters",
      "a string of at most 8 characters",
    ]);
    expect(env.string({ minLength: 2, maxLength: 4 })).toBeDefined();
    expect(
      resolveConfig([{ plugin: "p", shape: { X: env.string({ minLength: 2, maxLength: 4 }) } }], [], "testing")
        .issues[0]?.expected,
    ).toBe("a string of 2 to 4 characters");
    expect(resolveConfig([{ plugin: "p", shape: { X: env.integer() } }], [], "testing").issues[0]?.expected).toBe(
      "an integer",
    );
    expect(
      resolveConfig([{ plugin: "p", shape: { X: env.integer({ max: 9 }) } }], [], "testing").issues[0]?.expected,
    ).toBe("an integer of at most 9");
  });

  test("env helpers parse what they promise", () => {
    const shape = {
      N: env.number({ min: 0, max: 1 }),
      B: env.boolean(),
      L: env.list(),
      P: env.picklist(["a", "b"]),
      U: env.url(),
    };
    const resolved = resolveConfig(
      [{ plugin: "p", shape }],
      [{ name: "process env", values: { N: "0.5", B: "YES", L: " a, b ,,c ", P: "b", U: "https://x.test/y" } }],
      "testing",
    );
    expect(resolved.byPlugin.get("p")).toEqual({ N: 0.5, B: true, L: ["a", "b", "c"], P: "b", U: "https://x.test/y" });
    const bad = resolveConfig(
      [{ plugin: "p", shape }],
      [{ name: "e", values: { N: "2", B: "", L: "", P: "c", U: "nope" } }],
      "testing",
    );
    expect(bad.issues.map((i) => [i.name, i.expected])).toEqual([
      ["N", "a number from 0 to 1"],
      ["B", "one of true, false, 1, 0, yes, no, on, off"],
      ["P", "one of a, b"],
      ["U", "an absolute URL"],
    ]);
  });
});
