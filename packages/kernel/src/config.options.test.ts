import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { createApp } from "./app.ts";
import {
  type ConfigOptions,
  defineConfig,
  env,
  formatConfig,
  type InferConfig,
  isSecret,
  REDACTED,
  secret,
} from "./config.ts";
import { ConfigError, KernelError } from "./errors.ts";
import { definePlugin } from "./plugin.ts";
import type { Runtime } from "./runtime/types.ts";

const serverConfig = defineConfig(
  {
    PORT: v.optional(env.port(), "8000"),
    ORIGINS: v.optional(env.list(), ""),
    CREDENTIALS: v.optional(env.boolean(), "false"),
    API_KEY: secret(v.optional(env.string({ minLength: 1 }))),
  },
  { production: { API_KEY: secret(env.string({ minLength: 32 })) } },
);
type ServerConfig = InferConfig<typeof serverConfig>;

/** A plugin factory written the one way: options are the top config layer, check holds the cross rules. */
function server(options: ConfigOptions<typeof serverConfig> = {}) {
  const seen: ServerConfig[] = [];
  const plugin = definePlugin({
    name: "server",
    config: serverConfig,
    options,
    check(config) {
      return config.ORIGINS.includes("*") && config.CREDENTIALS
        ? [
            {
              name: "ORIGINS",
              expected: "explicit origins when CREDENTIALS is true (a browser refuses * with credentials)",
            },
          ]
        : [];
    },
    start({ config }) {
      seen.push(config);
    },
  });
  return { plugin, seen };
}

const quiet = { ENVIRONMENT: "testing", LOG_LEVEL: "silent" };

describe("options, the top config layer", () => {
  test("win over the environment, parse like it, and show with source options", async () => {
    const { plugin, seen } = server({ PORT: 0, ORIGINS: ["https://a.test", "https://b.test"] });
    const app = createApp({ name: "t", plugins: [plugin], env: { ...quiet, PORT: "9000", CREDENTIALS: "true" } });
    const rows = Object.fromEntries((await app.inspectConfig()).map((e) => [e.name, `${e.value} <- ${e.source}`]));
    expect(rows).toMatchObject({
      PORT: "0 <- options",
      ORIGINS: "https://a.test,https://b.test <- options",
      CREDENTIALS: "true <- process env",
    });
    expect(formatConfig(await app.inspectConfig())).toMatch(/PORT\s+0\s+options\s+server/);
    await app.start();
    expect(seen[0]).toMatchObject({ PORT: 0, ORIGINS: ["https://a.test", "https://b.test"], CREDENTIALS: true });
    await app.stop();
  });

  test("a bad option is a config error (exit 78) reported with the others, naming the source", async () => {
    const { plugin, seen } = server({ PORT: -5 });
    const app = createApp({ name: "t", plugins: [plugin], env: { ...quiet, LOG_LEVEL: "loud" } });
    const error = (await app.start().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('PORT (server): expected an integer from 0 to 65535, got "-5" [from options]');
    expect(error.issues.map((i) => i.name)).toEqual(["LOG_LEVEL", "PORT"]);
    expect(seen).toEqual([]);
  });

  test("a secret option is masked in the error, the printed config and every log line", async () => {
    const key = "sk-live-0123456789abcdef";
    const lines: string[] = [];
    const logs = definePlugin({
      name: "chatty",
      start({ logger }) {
        logger.info(`using ${key}`);
      },
    });
    const { plugin } = server({ API_KEY: key });
    const app = createApp({
      name: "t",
      plugins: [plugin, logs],
      env: { ENVIRONMENT: "testing", LOG_LEVEL: "info" },
      log: (line) => lines.push(line),
    });
    expect((await app.inspectConfig()).find((e) => e.name === "API_KEY")).toMatchObject({
      value: REDACTED,
      source: "options",
    });
    await app.start();
    await app.stop();
    expect(lines.join("\n")).not.toContain(key);
    expect(lines.join("\n")).toContain(`using ${REDACTED}`);

    const prod = createApp({
      name: "t",
      plugins: [server({ API_KEY: "short-key" }).plugin],
      env: { ENVIRONMENT: "production" },
    });
    const error = (await prod.start().catch((e: unknown) => e)) as ConfigError;
    expect(error.message).toContain(
      "API_KEY (server): expected a string of at least 32 characters, got [redacted] [from options]",
    );
    expect(JSON.stringify(error.issues)).not.toContain("short-key");
  });

  test("an option the plugin has no setting for is a config error, not silence", async () => {
    const plugin = definePlugin({
      name: "server",
      config: serverConfig,
      options: { PROT: 80 } as never,
      start() {},
    });
    const error = (await createApp({ name: "t", plugins: [plugin], env: quiet })
      .start()
      .catch((e: unknown) => e)) as ConfigError;
    expect(error.issues).toEqual([expect.objectContaining({ name: "PROT", source: "options", plugin: "server" })]);
    expect(error.message).toContain(
      'PROT (server): expected one of the settings "server" declares, got an option of that name [from options]',
    );
  });
});

describe("check(config)", () => {
  test("a rule across settings lands in the same report, with the setting's value and source", async () => {
    const { plugin, seen } = server({ CREDENTIALS: true });
    const app = createApp({ name: "t", plugins: [plugin], env: { ...quiet, ORIGINS: "*", APP_NAME: "" } });
    const error = (await app.start().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => i.name)).toEqual(["APP_NAME", "ORIGINS"]);
    expect(error.message).toContain(
      'ORIGINS (server): expected explicit origins when CREDENTIALS is true (a browser refuses * with credentials), got "*" [from process env]',
    );
    expect(seen).toEqual([]);
  });

  test("does not run while the plugin's own settings are invalid (it would see a partial config)", async () => {
    let ran = false;
    const plugin = definePlugin({
      name: "p",
      config: { N: env.integer() },
      check() {
        ran = true;
        return [];
      },
      start() {},
    });
    await expect(createApp({ name: "t", plugins: [plugin], env: { ...quiet, N: "x" } }).start()).rejects.toThrow(
      ConfigError,
    );
    expect(ran).toBe(false);
  });
});

describe("secrets anywhere in a schema", () => {
  test("secret() inside v.pipe, v.optional or a union is found", () => {
    expect(isSecret(v.pipe(secret(env.string()), v.startsWith("sk-")))).toBe(true);
    expect(isSecret(v.optional(v.pipe(secret(env.string()), v.startsWith("sk-"))))).toBe(true);
    expect(isSecret(v.union([env.string({ minLength: 3 }), secret(env.url())]))).toBe(true);
    expect(isSecret(v.pipe(env.string(), v.startsWith("sk-")))).toBe(false);
  });

  test("an env schema is secret once secret() marks it, though the walk knows env's own schemas hold none", () => {
    const key = env.string({ minLength: 8 });
    expect(isSecret(key)).toBe(false);
    expect(isSecret(secret(key))).toBe(true);
    for (const schema of [env.integer(), env.number(), env.boolean(), env.port(), env.url(), env.list()]) {
      expect(isSecret(v.optional(secret(schema), "1"))).toBe(true);
    }
    expect(isSecret(v.optional(env.picklist(["a", "b"]), "a"))).toBe(false);
  });

  test("a piped secret is masked in the config error and the printed config", async () => {
    const plugin = definePlugin({
      name: "llm",
      config: { LLM_KEY: v.pipe(secret(env.string()), v.startsWith("sk-", "a key starting sk-")) },
      start() {},
    });
    const bad = createApp({ name: "t", plugins: [plugin], env: { ...quiet, LLM_KEY: "pk-visible-value" } });
    const error = (await bad.start().catch((e: unknown) => e)) as ConfigError;
    expect(error.message).toContain("LLM_KEY (llm): expected a key starting sk-, got [redacted]");
    expect(error.message).not.toContain("pk-visible-value");
    const good = createApp({ name: "t", plugins: [plugin], env: { ...quiet, LLM_KEY: "sk-hidden-value" } });
    expect((await good.inspectConfig()).find((e) => e.name === "LLM_KEY")?.value).toBe(REDACTED);
  });

  test("a form the kernel cannot see into is refused when the plugin is defined", () => {
    const define = () =>
      definePlugin({ name: "opaque", config: { TOKEN: v.lazy(() => secret(env.string())) }, start() {} });
    expect(define).toThrow(KernelError);
    expect(define).toThrow('plugin: "opaque": TOKEN: cannot see inside v.lazy(...)');
    // Marked secret as a whole, it is fine.
    expect(() =>
      definePlugin({ name: "opaque", config: { TOKEN: secret(v.lazy(() => env.string())) }, start() {} }),
    ).not.toThrow();
  });
});

describe("the config report", () => {
  test("with LOG_FORMAT=pretty it reads as lines in a terminal; with json it is one event", async () => {
    const broken = definePlugin({ name: "p", config: { N: env.integer({ min: 1 }), M: env.port() }, start() {} });
    for (const format of ["pretty", "json"] as const) {
      const lines: string[] = [];
      let exitCode: number | undefined;
      const runtime: Runtime = {
        name: "fake",
        env: () => ({ ENVIRONMENT: "testing", LOG_FORMAT: format, N: "0", M: "x" }),
        readTextFile: async () => undefined,
        onSignal: () => () => {},
        onFatal: () => () => {},
        now: () => performance.now(),
        writeLine: (line) => lines.push(line) > 0,
        serve: () => Promise.reject(new Error("not used")),
        exit: (code) => {
          exitCode = code;
          throw new Error("exited");
        },
      };
      await createApp({ name: "t", plugins: [broken], runtime })
        .run()
        .catch(() => {});
      expect(exitCode).toBe(78);
      expect(lines).toHaveLength(1);
      const [line = ""] = lines;
      if (format === "pretty") {
        expect(line.split("\n").slice(1)).toEqual([
          '  N (p): expected an integer of at least 1, got "0" [from process env]',
          '  M (p): expected an integer from 0 to 65535, got "x" [from process env] code=TF_CONFIG_INVALID',
        ]);
        expect(line).not.toContain("\\n");
      } else {
        const event = JSON.parse(line) as { message: string; issues: unknown[] };
        expect(event.issues).toHaveLength(2);
        expect(event.message.split("\n")).toHaveLength(3);
      }
    }
  });
});
