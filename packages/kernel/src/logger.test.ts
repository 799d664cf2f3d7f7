import { describe, expect, test } from "bun:test";
import { memoryUsage } from "node:process";
import { Writable } from "node:stream";
import * as v from "valibot";
import { createApp } from "./app.ts";
import { env, REDACTED, secret } from "./config.ts";
import { Logger } from "./contracts/logger.ts";
import { createLogger, type LoggerOptions } from "./logger.ts";
import { definePlugin } from "./plugin.ts";
import { boundedLineWriter, STDOUT_HIGH_WATER } from "./runtime/stdout.ts";

function capture(options: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const log = createLogger({
    write: (line) => lines.push(line),
    clock: () => Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    ...options,
  });
  const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines, parsed };
}

describe("createLogger", () => {
  test("a tap gets every line as written, redacted, until removed; one that throws loses nothing", () => {
    const { log, lines } = capture();
    const tapped: Array<[string, string]> = [];
    log.tap(() => {
      throw new Error("broken listener");
    });
    const untap = log.tap((line, level) => tapped.push([level, line]));
    log.warn("disk low", { password: "hunter2", free_mb: 12 });
    untap();
    log.info("after");
    expect(lines).toHaveLength(2);
    expect(tapped).toEqual([["warn", lines[0] as string]]);
    expect(tapped[0]?.[1]).not.toContain("hunter2");
  });

  test("writes one JSON object per line with timestamp, level, message, base and the caller's fields", () => {
    const { log, lines, parsed } = capture({ base: { service: "agent", version: "1.2.3", environment: "staging" } });
    log.info("session created", { session: "s-1", count: 2 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    expect(parsed()[0]).toEqual({
      timestamp: "2026-01-02T03:04:05.006Z",
      level: "info",
      message: "session created",
      service: "agent",
      version: "1.2.3",
      environment: "staging",
      session: "s-1",
      count: 2,
    });
  });

  test("a child adds its fields to every line, a call's own fields win, and the event's level cannot be forged", () => {
    const { log, parsed, lines } = capture();
    const child = log.child({ plugin: "http", route: "/a" });
    child.warn("slow", { route: "/b", level: "debug", message: "forged" });
    child.child({ request_id: "r1" }).error("failed");
    const [first, second] = parsed();
    // Each name appears once in the written line, not only in what JSON.parse keeps.
    expect(lines[0]?.match(/"route"/g)).toHaveLength(1);
    expect(lines[0]?.match(/"level"/g)).toHaveLength(1);
    expect(first).toMatchObject({ plugin: "http", route: "/b", level: "warn", message: "slow" });
    expect(second).toMatchObject({ plugin: "http", route: "/a", request_id: "r1", level: "error" });
  });

  test("flat fields are masked in the serialised line: secrets with quotes, URL passwords, and the JSON stays whole", () => {
    const { log, lines, parsed } = capture();
    log.redactor.addSecrets(['pa"ss\\word-42']);
    log.info("connect", {
      dsn: "postgres://app:hunter2@db:5432/app",
      note: 'tried pa"ss\\word-42 twice',
      next: "http://x:1",
      mail: "ops@example.com",
      attempts: 3,
    });
    expect(lines[0]).not.toContain("hunter2");
    expect(lines[0]).not.toContain("word-42");
    // A URL in one field and an "@" in the next must not be read as one user:password@host.
    expect(parsed()[0]).toMatchObject({
      dsn: `postgres://app:${REDACTED}@db:5432/app`,
      note: `tried ${REDACTED} twice`,
      next: "http://x:1",
      mail: "ops@example.com",
      attempts: 3,
    });
  });

  test("a repeated message is masked again once a secret it holds is registered", () => {
    const { log, lines } = capture();
    log.info("retrying with key late-key-0001");
    log.redactor.addSecrets(["late-key-0001"]);
    log.info("retrying with key late-key-0001");
    expect(lines[0]).toContain("late-key-0001");
    expect(lines[1]).not.toContain("late-key-0001");
    expect(JSON.parse(lines[1] as string).message).toBe(`retrying with key ${REDACTED}`);
  });

  test("the same message through loggers with different secrets is masked by each logger's own", () => {
    const masking = capture();
    masking.log.redactor.addSecrets(["shared-key-0002"]);
    const plain = capture();
    // Both redactors at the same version: only which redactor it is tells the lines apart.
    plain.log.redactor.addSecrets(["other-key-0003"]);
    for (let i = 0; i < 2; i++) {
      masking.log.info("using shared-key-0002");
      plain.log.info("using shared-key-0002");
    }
    expect(masking.lines.every((line) => !line.includes("shared-key-0002"))).toBe(true);
    expect(plain.lines.every((line) => line.includes("shared-key-0002"))).toBe(true);
  });

  test("a field named like an Object.prototype member is written as it is", () => {
    const { log, parsed } = capture();
    log.info("fields", { constructor: "c", toString: "t", hasOwnProperty: 1 });
    expect(parsed()[0]).toMatchObject({ constructor: "c", toString: "t", hasOwnProperty: 1 });
  });

  test("a mixin's field the call also sets is written once, with the call's value", () => {
    const { log, lines, parsed } = capture();
    log.use(() => ({ trace_id: "from-mixin", span_id: "s1" }));
    log.info("handled", { trace_id: "from-call", status: 200 });
    expect(lines[0]?.match(/"trace_id"/g)).toHaveLength(1);
    expect(parsed()[0]).toMatchObject({ trace_id: "from-call", span_id: "s1", status: 200 });
  });

  test("a secret registered after a child was made is still masked in that child's fields and the base", () => {
    const { log, lines } = capture({ base: { service: "svc", dsn: "postgres://app@db/late-secret-value" } });
    const child = log.child({ upstream: "key late-secret-value" });
    child.info("before");
    log.redactor.addSecrets(["late-secret-value"]);
    child.info("after");
    expect(lines[0]).toContain("late-secret-value");
    expect(lines[1]).not.toContain("late-secret-value");
    expect(JSON.parse(lines[1] ?? "{}")).toMatchObject({
      upstream: `key ${REDACTED}`,
      dsn: `postgres://app@db/${REDACTED}`,
    });
  });

  test("the level filters lines, can change at run time, and 'silent' writes nothing", () => {
    const { log, parsed } = capture({ level: "warn" });
    log.debug("d");
    log.info("i");
    log.warn("w");
    expect(log.enabled("info")).toBe(false);
    expect(log.enabled("error")).toBe(true);
    log.setLevel("debug");
    log.debug("d2");
    log.setLevel("silent");
    log.error("e");
    expect(parsed().map((l) => l.message)).toEqual(["w", "d2"]);
  });

  test("mixins add fields to every line until removed, and a throwing mixin does not cost the line", () => {
    const { log, parsed } = capture();
    const remove = log.use(() => ({ trace_id: "t".repeat(32), span_id: "s".repeat(16) }));
    log.use(() => {
      throw new Error("mixin broke");
    });
    log.info("inside");
    remove();
    log.info("outside");
    const [inside, outside] = parsed();
    expect(inside).toMatchObject({ trace_id: "t".repeat(32), span_id: "s".repeat(16), message: "inside" });
    expect(outside).not.toHaveProperty("trace_id");
    expect(outside).toMatchObject({ message: "outside" });
  });

  test("nested sensitive fields, secret values and errors with causes never reach the output", () => {
    const { log, lines } = capture();
    const key = "sk-test-abcdefghijklmnop";
    log.redactor.addSecrets([key]);
    const cause = Object.assign(new Error(`upstream rejected ${key}`), { code: "E_UPSTREAM", password: "pw-1" });
    log.error("call failed", {
      error: new Error("llm call failed", { cause }),
      request: {
        headers: { authorization: `Bearer ${key}`, cookie: "sid=abc" },
        body: { messages: [{ api_key: "k" }] },
      },
      note: `used ${key}`,
      token: "tok-raw",
    });
    const text = lines.join("\n");
    for (const leak of [key, "pw-1", "sid=abc", "tok-raw", '"k"']) expect(text).not.toContain(leak);
    const line = JSON.parse(lines[0] ?? "{}");
    expect(line.error).toMatchObject({
      name: "Error",
      message: "llm call failed",
      cause: { message: `upstream rejected ${REDACTED}`, code: "E_UPSTREAM", password: REDACTED },
    });
    expect(line.error.stack).toContain("llm call failed");
    expect(line.request.headers).toEqual({ authorization: REDACTED, cookie: REDACTED });
  });

  test("a call never throws: cycles, bigints, hostile getters and a failing writer are absorbed", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.me = cyclic;
    const hostile = Object.defineProperty({}, "boom", {
      enumerable: true,
      get() {
        throw new Error("getter");
      },
    });
    const { log, parsed } = capture();
    expect(() => log.info("odd values", { cyclic, big: 10n, hostile })).not.toThrow();
    expect(parsed()[0]).toMatchObject({
      cyclic: { me: "[Circular]" },
      big: "10",
      hostile: { boom: "[Unserializable]" },
    });
    const broken = createLogger({
      write: () => {
        throw new Error("EPIPE");
      },
    });
    expect(() => broken.error("lost")).not.toThrow();
  });

  test("the pretty format is one readable line per event, with an error's stack below it", () => {
    const { log, lines } = capture({ format: "pretty", base: { service: "agent" } });
    log.info("listening", { port: 8000 });
    log.error("failed", { error: new Error("boom") });
    expect(lines[0]).toBe("03:04:05.006 INFO  listening port=8000");
    expect(lines[1]?.startsWith('03:04:05.006 ERROR failed error={"name":"Error","message":"boom"}\n')).toBe(true);
    expect(lines[1]).toContain("logger.test.ts");
  });
});

/** A stdout stand-in whose reader never reads until `release()`: Node queues every write it accepts. */
function stalledStream() {
  let held: (() => void) | undefined;
  let flowing = false;
  const chunks: string[] = [];
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    decodeStrings: false,
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      if (flowing) callback();
      else held = callback;
    },
  });
  return {
    stream,
    chunks,
    release() {
      flowing = true;
      held?.();
    },
  };
}

describe("logging under a reader that does not keep up", () => {
  test("a burst of 100,000 lines stays within the stdout bound, and the drop is reported", async () => {
    const { stream, chunks, release } = stalledStream();
    const log = createLogger({ write: boundedLineWriter(stream) });
    const payload = "x".repeat(500);
    Bun.gc(true);
    const before = memoryUsage().heapUsed;
    for (let i = 0; i < 100_000; i++) log.info("burst", { i, payload });
    // Lines of one turn are batched, then written at once: what is queued is capped near the high-water mark.
    await new Promise((resolve) => setImmediate(resolve));
    const peakQueued = stream.writableLength;
    Bun.gc(true);
    const growth = memoryUsage().heapUsed - before;
    // 100,000 lines of ~600 bytes are ~60 MB; what is kept is capped near the 8 MiB high-water mark.
    expect(peakQueued).toBeLessThanOrEqual(STDOUT_HIGH_WATER + 1024);
    expect(growth).toBeLessThan(32 * 1024 * 1024);
    release();
    for (let i = 0; i < 5 && !chunks.some((c) => c.includes("log lines dropped")); i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const report = chunks.map((c) => c.trim()).find((c) => c.includes("log lines dropped"));
    expect(report).toBeDefined();
    const dropped = Number(JSON.parse(report ?? "{}").dropped);
    const written = chunks.join("").split('"burst"').length - 1;
    expect(dropped).toBeGreaterThan(80_000);
    expect(dropped + written).toBe(100_000);
  });
});

describe("the app's logger", () => {
  test("LOG_LEVEL and LOG_FORMAT apply, and config secret values are masked wherever they appear", async () => {
    const lines: string[] = [];
    const apiKey = "sk-from-config-0123456789";
    const leaky = definePlugin({
      name: "leaky",
      config: { VENDOR_KEY: secret(env.string({ minLength: 8 })), VENDOR_URL: v.optional(env.url(), "http://x") },
      start({ config, logger }) {
        logger.warn("calling vendor", { header: `key=${config.VENDOR_KEY}`, nested: { list: [config.VENDOR_KEY] } });
        logger.info("filtered out by LOG_LEVEL");
        logger.error("vendor failed", { error: new Error(`bad key ${config.VENDOR_KEY}`) });
      },
    });
    const app = createApp({
      name: "logs",
      version: "9.9.9",
      plugins: [leaky],
      env: { ENVIRONMENT: "staging", LOG_LEVEL: "warn", VENDOR_KEY: apiKey },
      log: (line) => lines.push(line),
    });
    await app.start();
    await app.stop();
    expect(lines.join("\n")).not.toContain(apiKey);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((l) => l.message)).toEqual(["calling vendor", "vendor failed"]);
    expect(parsed[0]).toMatchObject({
      level: "warn",
      service: "logs",
      version: "9.9.9",
      environment: "staging",
      plugin: "leaky",
      header: `key=${REDACTED}`,
      nested: { list: [REDACTED] },
    });
    expect(app.get(Logger)).toBe(app.logger);
  });
});
