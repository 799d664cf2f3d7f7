/**
 * Which modules a bundle evaluated. Inside a bundle there are no module boundaries left to watch at
 * run time: Bun hoists an eagerly imported module's body into the bundle's top level and wraps a
 * lazily imported one (`await import(...)`) in an init function that runs when the import does. So
 * the traced build appends one statement to every module's source before it is bundled:
 *
 *     ;globalThis.__twelvefoldModules?.push("node_modules/.bun/.../@redis/client/dist/index.js");
 *
 * The statement travels with the module's body, so it runs exactly when, and only if, the module
 * is evaluated. Run the traced bundle with `bun --preload build/trace-preload.ts` and TWELVEFOLD_TRACE_FILE
 * set: the preload makes the list and writes it to that file as the process exits.
 *
 * The marker is a side effect, so the bundler may keep a module it would otherwise have dropped
 * (a package marked `sideEffects: false`): the traced bundle can only list more modules than the
 * release bundle evaluates, never fewer, which is the safe side for proving an SDK is not loaded.
 */
import { relative } from "node:path";
import type { BunPlugin, Loader } from "bun";

/** The global the markers push to. */
export const TRACE_GLOBAL = "__twelvefoldModules";

const loaders: Readonly<Record<string, Loader>> = {
  js: "js",
  mjs: "js",
  cjs: "js",
  jsx: "jsx",
  ts: "ts",
  mts: "ts",
  cts: "ts",
  tsx: "tsx",
};

/** The build plugin that appends the marker to every JavaScript and TypeScript module. */
export function traceModules(root: string): BunPlugin {
  return {
    name: "twelvefold-trace-modules",
    setup(build) {
      build.onLoad({ filter: /\.(?:[cm]?[jt]s|[jt]sx)$/ }, async ({ path }) => {
        const loader = loaders[path.slice(path.lastIndexOf(".") + 1)] ?? "js";
        const source = await Bun.file(path).text();
        const marker = `;globalThis.${TRACE_GLOBAL}?.push(${JSON.stringify(relative(root, path))});`;
        return { contents: `${source}\n${marker}\n`, loader };
      });
    },
  };
}

/** Every module path marked in a traced bundle's text: what the bundle holds. */
export function bundledModules(bundleText: string): string[] {
  const pattern = new RegExp(`globalThis\\.${TRACE_GLOBAL}\\?\\.push\\(("(?:[^"\\\\]|\\\\.)*")\\)`, "g");
  return [...new Set([...bundleText.matchAll(pattern)].map((m) => JSON.parse(m[1] as string) as string))];
}

/** The package a module path belongs to (`@redis/client`), or `undefined` for the project's own files. */
export function packageOf(path: string): string | undefined {
  const at = path.lastIndexOf("node_modules/");
  if (at < 0) return undefined;
  const [scope, name] = path.slice(at + "node_modules/".length).split("/");
  return scope?.startsWith("@") ? `${scope}/${name}` : scope;
}

/** What a traced run evaluated: modules inside the bundle, and files the module loader loaded. */
export interface TraceReport {
  /** Bundled modules whose body ran, by path from the root, in order. */
  readonly bundled: readonly string[];
  /** Files loaded through the module loader: the bundle itself and what it imports from outside. */
  readonly loaded: readonly string[];
}

/**
 * The preload's part: collects the markers, and reports them with the module loader's own list
 * (`require.cache`, which on Bun holds ES modules too) for what came from outside the bundle.
 */
export function traceRecorder(): { report(): TraceReport } {
  const bundled: string[] = [];
  (globalThis as Record<string, unknown>)[TRACE_GLOBAL] = bundled;
  return { report: () => ({ bundled: [...bundled], loaded: Object.keys(require.cache) }) };
}
