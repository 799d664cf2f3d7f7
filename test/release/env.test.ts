/**
 * The environment templates (.env.example, .env.development, .env.staging, .env.production): every
 * variable they name is one some plugin, the app or the kernel declares; every variable a profile
 * requires is named in its template; no secret is written in any; and each template's values pass
 * the app's own config schemas under its profile, once the platform adds the secrets.
 */
import { describe, expect, test } from "bun:test";
import type { Profile } from "../../packages/kernel/mod.ts";
import { configProblems, declaredSettings, readTemplate, requiredSettings } from "./app.ts";

const templates: Array<[file: string, profile: Profile | "every"]> = [
  [".env.example", "every"],
  [".env.development", "development"],
  [".env.staging", "staging"],
  [".env.production", "production"],
];

/** Looks like a credential: an API key, or a URL with a password in it. */
const credential = /sk-[A-Za-z0-9_-]{8,}|:\/\/[^/\s:@]+:[^/\s@]+@|-----BEGIN/;

const declared = await declaredSettings();
/** What the platform's secret store adds (made up: only the config is resolved, nothing connects). */
const fakeSecrets = {
  SECRET_KEY: "s".repeat(48),
  OPENAI_API_KEY: "sk-test-not-a-key",
  DATABASE_URL: "postgres://agent@db.invalid:5432/agent",
  REDIS_URL: "redis://redis.invalid:6379",
};

describe.each(templates)("%s", (file, profile) => {
  const variables = readTemplate(file);

  test("names only variables that some plugin, the app or the kernel declares", () => {
    expect(variables.length).toBeGreaterThan(5);
    expect(variables.map((v) => v.name).filter((name) => !declared.names.has(name))).toEqual([]);
  });

  test("names every variable its profile requires", async () => {
    const wanted: Profile[] = profile === "every" ? ["development", "testing", "staging", "production"] : [profile];
    const named = new Set(variables.map((v) => v.name));
    for (const p of wanted) {
      const required = await requiredSettings(p);
      expect({ profile: p, missing: required.filter((name) => !named.has(name)) }).toEqual({ profile: p, missing: [] });
    }
  });

  test("holds no secret: secret settings are only named, commented out, and no value looks like a credential", () => {
    for (const v of variables) {
      if (declared.secrets.has(v.name))
        expect({ name: v.name, commented: v.commented }).toEqual({ name: v.name, commented: true });
      expect({ name: v.name, credential: credential.test(v.value) }).toEqual({ name: v.name, credential: false });
    }
  });

  test("its values pass the app's config schemas under its profile, with the secrets the platform adds", async () => {
    const values = Object.fromEntries(variables.filter((v) => !v.commented).map((v) => [v.name, v.value]));
    const env = { ...values, ...fakeSecrets, ...(profile === "every" ? {} : { ENVIRONMENT: profile }) };
    expect(await configProblems(env)).toEqual([]);
  });
});

test("the credential check would catch a key or a password in a URL", () => {
  expect(credential.test("sk-abcdefghijklmnop")).toBe(true);
  expect(credential.test("postgres://agent:hunter2@db:5432/agent")).toBe(true);
  expect(credential.test("redis://127.0.0.1:6379")).toBe(false);
});
