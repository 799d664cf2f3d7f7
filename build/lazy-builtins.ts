/**
 * Node built-ins that a bundled driver imports at its top but uses only on some paths, loaded at
 * their first use instead. postgres.js and node-redis import `tls` and `crypto` when they load, though a
 * plaintext URL with trust or no authentication never touches them; in a bytecode bundle loading
 * the two costs several milliseconds of every cold start (bench/release.ts). node-redis still loads
 * crypto when it connects (it names each client with `randomBytes`); tls it never loads without TLS.
 *
 * Bun resolves built-ins before any build plugin sees them, so the importing files are rewritten
 * instead: in the listed packages, `from "tls"` and `require("node:crypto")` name
 * `twelvefold-lazy-builtin:<name>`, a small module whose export is a proxy. The first property read
 * loads the real built-in and reads it there, so `tls.connect(...)` and `crypto.createHash(...)` work
 * as before, only later. The listed packages use the built-ins through property reads on the module
 * (`tls.connect`, `node_crypto_1.createHash`), which a proxy serves; a named ES import
 * (`import { createHash } from "node:crypto"`) would be bound when the bundle loads, so the list is
 * checked, not general. In a traced build (build/trace.ts) the first use of each built-in is
 * recorded as `node:<name>`, so a test can tell whether a process loaded it.
 */
import type { BunPlugin } from "bun";
import { loaderOf, TRACE_GLOBAL, traceMarker } from "./trace.ts";

/** The built-ins loaded at first use, and the packages whose imports of them are rewritten. */
export const lazyBuiltins = {
  names: ["tls", "crypto"],
  importers: ["postgres", "@redis/client"],
} as const;

const namespace = "twelvefold-lazy-builtin";
const escapeRegExp = (text: string) => text.replace(/[/.]/g, "\\$&");
const names = lazyBuiltins.names.join("|");
/** `from "tls"`, `from 'node:tls'`, `require("crypto")`: the quote, the specifier's name. */
const imports = new RegExp(`(\\bfrom\\s*|\\brequire\\(\\s*)(["'])(?:node:)?(${names})\\2`, "g");

/** `source` with its imports of the lazy built-ins pointed at their proxies. */
export function rewriteBuiltinImports(source: string): string {
  return source.replace(
    imports,
    (_, lead: string, quote: string, name: string) => `${lead}${quote}${namespace}:${name}${quote}`,
  );
}

/** The module `twelvefold-lazy-builtin:<name>` stands for: a proxy that loads built-in `name` on first use. */
export function lazyBuiltinSource(name: string): string {
  const id = JSON.stringify(`node:${name}`);
  return `"use strict";
let loaded;
function load() {
  if (loaded === undefined) {
    loaded = process.getBuiltinModule(${id});
    globalThis.${TRACE_GLOBAL}?.push(${id});
  }
  return loaded;
}
// getBuiltinModule, not require: the bundler would resolve a require of it back to this module.
// No own keys and no __esModule until first use, so the bundler's interop helpers load nothing.
module.exports = new Proxy({}, {
  get: (_, key) => (key === "__esModule" ? undefined : Reflect.get(load(), key)),
  has: (_, key) => Reflect.has(load(), key),
  ownKeys: () => [],
});
`;
}

/**
 * The build plugin: rewrites the listed packages' modules and serves the proxies. With `traceRoot`
 * (a traced build) it also appends the trace marker to the modules it rewrites, as traceModules
 * does to the others; put it before traceModules, which would otherwise load those files itself.
 */
export function lazyBuiltinImports(traceRoot?: string): BunPlugin {
  const packages = lazyBuiltins.importers.map(escapeRegExp).join("|");
  const inPackages = new RegExp(`/node_modules/(?:${packages})/.*\\.[cm]?js$`);
  return {
    name: "twelvefold-lazy-builtins",
    setup(build) {
      build.onLoad({ filter: inPackages }, async ({ path }) => {
        const source = rewriteBuiltinImports(await Bun.file(path).text());
        const marker = traceRoot === undefined ? "" : `\n${traceMarker(traceRoot, path)}\n`;
        return { contents: `${source}${marker}`, loader: loaderOf(path) };
      });
      build.onResolve({ filter: new RegExp(`^${namespace}:`) }, ({ path }) => ({
        path: path.slice(namespace.length + 1),
        namespace,
      }));
      build.onLoad({ filter: /.*/, namespace }, ({ path }) => ({ contents: lazyBuiltinSource(path), loader: "js" }));
    },
  };
}
