import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lazyBuiltinImports, rewriteBuiltinImports } from "./lazy-builtins.ts";

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes `files` (path -> text) under a fresh folder and returns it. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "twelvefold-lazy-builtins-"));
  scratch.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test("the listed packages' imports of tls and crypto are pointed at the proxies; other specifiers are left", () => {
  const source = [
    `import tls from 'tls'`,
    `import crypto from "node:crypto"`,
    `const t = require("node:tls"), c = require('crypto')`,
    `import net from 'net'`,
    `import x from "crypto-js"`,
  ].join("\n");
  expect(rewriteBuiltinImports(source).split("\n")).toEqual([
    `import tls from 'twelvefold-lazy-builtin:tls'`,
    `import crypto from "twelvefold-lazy-builtin:crypto"`,
    `const t = require("twelvefold-lazy-builtin:tls"), c = require('twelvefold-lazy-builtin:crypto')`,
    `import net from 'net'`,
    `import x from "crypto-js"`,
  ]);
});

test("a bundle loads tls and crypto at their first use, as postgres.js and node-redis import them, and they work", async () => {
  const dir = tree({
    // As postgres.js does: ES default imports, used through property reads.
    "node_modules/postgres/src/index.js": [
      `import tls from "tls";`,
      `import crypto from "crypto";`,
      `export const sha = (text) => crypto.createHash("sha256").update(text).digest("hex");`,
      `export const connects = () => typeof tls.connect;`,
    ].join("\n"),
    // As node-redis's compiled CommonJS does.
    "node_modules/@redis/client/dist/index.js": [
      `"use strict";`,
      `var __importDefault = (m) => (m && m.__esModule ? m : { default: m });`,
      `var node_tls_1 = __importDefault(require("node:tls"));`,
      `var node_crypto_1 = require("node:crypto");`,
      `exports.bytes = () => node_crypto_1.randomBytes(4).length;`,
      `exports.connects = () => typeof node_tls_1.default.connect;`,
    ].join("\n"),
    "entry.ts": [
      `const seen = (globalThis.__twelvefoldModules = []);`,
      `const pg = require("postgres/src/index.js");`,
      `const redis = require("@redis/client/dist/index.js");`,
      `const before = [...seen];`,
      `const results = [pg.sha("a"), pg.connects(), redis.bytes(), redis.connects()];`,
      `console.log(JSON.stringify({ before, results, after: [...seen].sort() }));`,
    ].join("\n"),
  });
  const built = await Bun.build({
    entrypoints: [join(dir, "entry.ts")],
    outdir: join(dir, "out"),
    target: "bun",
    format: "cjs",
    bytecode: true,
    plugins: [lazyBuiltinImports()],
    throw: false,
  });
  expect(built.logs.map(String)).toEqual([]);
  const bundle = await Bun.file(join(dir, "out", "entry.js")).text();
  expect(bundle).not.toMatch(/require\("(?:node:)?(?:tls|crypto)"\)/);
  const run = Bun.spawnSync(["bun", join(dir, "out", "entry.js")], { stdout: "pipe", stderr: "pipe" });
  expect(run.stderr.toString()).toBe("");
  expect(JSON.parse(run.stdout.toString())).toEqual({
    before: [],
    results: [new Bun.CryptoHasher("sha256").update("a").digest("hex"), "function", 4, "function"],
    after: ["node:crypto", "node:tls"],
  });
});
