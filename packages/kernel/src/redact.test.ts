import { describe, expect, test } from "bun:test";
import { REDACTED } from "./config.ts";
import { Redactor, SENSITIVE_KEY } from "./redact.ts";

const SECRET = "sk-live-0123456789abcdef";

function redactor(): Redactor {
  const r = new Redactor();
  r.addSecrets([SECRET, "db-pass-xyz"]);
  return r;
}

describe("Redactor", () => {
  test("sensitive field names are replaced at any depth, in objects and arrays", () => {
    const out = redactor().value({
      user: { name: "ada", password: "hunter2", profile: { settings: { api_key: "k1", apiKey: "k2" } } },
      headers: [{ Authorization: "Bearer abc" }, { Cookie: "sid=1" }, { "Set-Cookie": "sid=2" }],
      auth: { access_token: "t1", refreshToken: "t2", "x-auth-token": "t3", client_secret: "s1" },
    });
    expect(out).toEqual({
      user: { name: "ada", password: REDACTED, profile: { settings: { api_key: REDACTED, apiKey: REDACTED } } },
      headers: [{ Authorization: REDACTED }, { Cookie: REDACTED }, { "Set-Cookie": REDACTED }],
      auth: { access_token: REDACTED, refreshToken: REDACTED, "x-auth-token": REDACTED, client_secret: REDACTED },
    });
  });

  test("token counts are not mistaken for tokens", () => {
    for (const key of ["input_tokens", "output_tokens", "max_tokens", "token_count", "tokenizer"]) {
      expect(SENSITIVE_KEY.test(key)).toBe(false);
    }
    for (const key of ["token", "id_token", "csrfToken", "passwd", "private_key", "credentials", "x-signature"]) {
      expect(SENSITIVE_KEY.test(key)).toBe(true);
    }
    expect(redactor().value({ usage: { input_tokens: 12, output_tokens: 3 } })).toEqual({
      usage: { input_tokens: 12, output_tokens: 3 },
    });
  });

  test("config secret values are masked inside any string, under any key", () => {
    const out = redactor().value({
      note: `calling with ${SECRET} now`,
      deep: { list: ["a", `db-pass-xyz`, { text: `x${SECRET}y` }] },
      map: new Map([["k", SECRET]]),
      set: new Set([SECRET]),
    });
    const text = JSON.stringify(out);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("db-pass-xyz");
    expect(out).toMatchObject({ note: `calling with ${REDACTED} now`, map: { k: REDACTED }, set: [REDACTED] });
  });

  test("passwords inside URLs are masked", () => {
    const r = new Redactor();
    expect(r.string("connect postgres://app:pa55word@db:5432/app failed")).toBe(
      `connect postgres://app:${REDACTED}@db:5432/app failed`,
    );
    expect(r.value({ target: new URL("redis://:hunter22@cache:6379/0") })).toEqual({
      target: `redis://:${REDACTED}@cache:6379/0`,
    });
    expect(r.string("mail ada@example.com at https://example.com")).toBe("mail ada@example.com at https://example.com");
  });

  test("errors keep name, message, code, stack and their whole cause chain, with secrets masked", () => {
    const root = Object.assign(new Error(`auth failed for key ${SECRET}`), { code: "E_AUTH", token: "raw-token" });
    const middle = new TypeError("request failed", { cause: root });
    const top = Object.assign(new Error("chat failed", { cause: middle }), { code: "TF_LLM", retryable: true });
    const out = redactor().value({ error: top }) as { error: Record<string, unknown> };
    expect(out.error).toMatchObject({
      name: "Error",
      message: "chat failed",
      code: "TF_LLM",
      retryable: true,
      cause: {
        name: "TypeError",
        message: "request failed",
        cause: { name: "Error", message: `auth failed for key ${REDACTED}`, code: "E_AUTH", token: REDACTED },
      },
    });
    expect(String(out.error.stack)).toContain("chat failed");
    const text = JSON.stringify(out);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("raw-token");
  });

  test("aggregate errors list their members", () => {
    const out = new Redactor().value(new AggregateError([new Error("one"), new RangeError("two")], "both failed"));
    expect(out).toMatchObject({ name: "AggregateError", errors: [{ message: "one" }, { name: "RangeError" }] });
  });

  test("cycles, bigints, throwing getters, symbols and functions never throw", () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const errorCycle = new Error("outer");
    errorCycle.cause = errorCycle;
    const hostile = {
      ok: 1,
      get bad(): never {
        throw new Error("getter exploded");
      },
    };
    const out = new Redactor().value({
      cyclic,
      errorCycle,
      hostile,
      big: 12345678901234567890n,
      sym: Symbol("s"),
      fn: () => 1,
      nan: Number.NaN,
      date: new Date(0),
      bytes: new Uint8Array(1024),
    });
    expect(out).toMatchObject({
      cyclic: { name: "loop", self: "[Circular]" },
      errorCycle: { message: "outer", cause: "[Circular]" },
      hostile: { ok: 1, bad: "[Unserializable]" },
      big: "12345678901234567890",
      sym: "Symbol(s)",
      nan: "NaN",
      date: "1970-01-01T00:00:00.000Z",
      bytes: "[Uint8Array 1024 bytes]",
    });
    expect(() => JSON.stringify(out)).not.toThrow();
  });

  test("a shared (non-cyclic) reference is written at each place, and deep nesting is cut", () => {
    const shared = { v: 1 };
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    const out = new Redactor().value({ a: shared, b: shared, deep });
    expect(out).toMatchObject({ a: { v: 1 }, b: { v: 1 } });
    expect(JSON.stringify(out)).toContain("[Truncated]");
  });

  test("a proxy that throws on every access is reported, not thrown", () => {
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("no keys");
        },
      },
    );
    expect(new Redactor().value({ trap })).toEqual({ trap: "[Unserializable]" });
  });

  test("secrets shorter than four characters are ignored, so common words stay readable", () => {
    const r = new Redactor();
    r.addSecrets(["a", "ok"]);
    expect(r.string("a ok value")).toBe("a ok value");
  });

  test("fields() redacts a record in place and leaves the caller's nested objects untouched", () => {
    const nested = { password: "p" };
    const line = redactor().fields({ msg: `x ${SECRET}`, nested, cookie: "c", n: 1, missing: undefined });
    expect(line).toEqual({
      msg: `x ${REDACTED}`,
      nested: { password: REDACTED },
      cookie: REDACTED,
      n: 1,
      missing: undefined,
    });
    expect(nested.password).toBe("p");
  });
});
