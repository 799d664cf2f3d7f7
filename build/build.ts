/**
 * The build stage (twelve-factor rule 5): one `bun build --target=bun --bytecode` bundle per process
 * type of the sample agent, into dist/, with a build manifest (dist/manifest.json: version, git
 * revision, lockfile hash, bundle sizes). The release runs these bundles, never the sources: the
 * whole stack loads several times faster from bytecode (bench/release.ts measures it).
 *
 * `bun run build` (= `bun build/build.ts`). Environment: GIT_REVISION names the revision when there
 * is no git checkout (a container build); OUTDIR replaces dist/.
 *
 * A few packages read files beside their own modules at run time (PGlite's WASM and data files):
 * those stay outside the bundle and are copied, with what they depend on, into dist/node_modules,
 * so dist/ runs on its own: `bun dist/web.js`.
 *
 * A large SDK that only some processes load, and only when its feature is configured (openai: the
 * worker, with OpenAI settings), is built once as a bytecode chunk of its own, dist/lazy/<name>.js,
 * which the bundles import at run time. Loading a bundle costs time in proportion to its size even
 * for code that never runs (about 2 ms of CPU a megabyte here): openai was a third of every bundle.
 */
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import type { BunPlugin } from "bun";
import { traceModules } from "./trace.ts";

/** The process types there is a bundle for, each from build/entries/<type>.ts. */
export const bundleTypes = ["web", "worker", "scheduler", "admin"] as const;
export type BundleType = (typeof bundleTypes)[number];

/** Packages that load files beside their own modules at run time, so they cannot be bundled. */
export const unbundled = ["@electric-sql/pglite"] as const;

/**
 * SDKs built as chunks of their own (dist/lazy/<name>.js), by chunk name: the specifiers the code
 * imports them by. A chunk holds every specifier listed for it, so they share one copy of the package
 * (openai/error's classes are the ones openai/client throws).
 */
export const lazyChunks: Readonly<Record<string, readonly string[]>> = {
  openai: ["openai/client", "openai/error"],
};

/** Where the code that imports each lazy chunk's specifiers lives, to resolve them from there. */
const lazyImporters: Readonly<Record<string, string>> = { openai: join(import.meta.dir, "..", "plugins", "llm") };

/** The repository root. */
export const root = join(import.meta.dir, "..");

/** One bundle in the manifest: its file and bytecode sizes, and the script's digest. */
export interface BundleEntry {
  readonly file: string;
  readonly bytes: number;
  readonly bytecodeFile: string;
  readonly bytecodeBytes: number;
  readonly sha256: string;
}

/** dist/manifest.json: what was built, from what. */
export interface BuildManifest {
  readonly name: string;
  readonly version: string;
  /** The git commit built, `unknown` without git or GIT_REVISION. */
  readonly revision: string;
  /** True when the working tree had uncommitted changes: the bundle is not exactly `revision`. */
  readonly dirty: boolean;
  readonly lockfile: { readonly file: "bun.lock"; readonly sha256: string };
  readonly bun: string;
  readonly bundles: Readonly<Record<BundleType, BundleEntry>>;
  /** The lazy chunks (dist/lazy/<name>.js) the bundles import at run time, by name. */
  readonly chunks: Readonly<Record<string, BundleEntry>>;
  /** Packages copied into dist/node_modules because a bundle imports them at run time. */
  readonly vendored: readonly string[];
}

/** Options for {@link buildBundles}. */
export interface BuildOptions {
  /** Output folder, emptied first (default: dist/ at the root). */
  readonly outdir?: string;
  /** Adds a marker to every module that records it when it is evaluated (see trace.ts); tests only. */
  readonly trace?: boolean;
  /** The revision to record instead of asking git. */
  readonly revision?: string;
}

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** The commit and whether the tree is dirty, from GIT_REVISION or git; `unknown` when neither says. */
function gitRevision(given: string | undefined): { revision: string; dirty: boolean } {
  if (given) return { revision: given, dirty: false };
  const git = (...args: string[]) => Bun.spawnSync(["git", ...args], { cwd: root, stdout: "pipe", stderr: "ignore" });
  const head = git("rev-parse", "HEAD");
  if (!head.success) return { revision: "unknown", dirty: false };
  const status = git("status", "--porcelain", "--untracked-files=no");
  return { revision: head.stdout.toString().trim(), dirty: status.stdout.toString().trim() !== "" };
}

/** Marks the unbundled packages external and notes which module imported each, to resolve it from there. */
function externals(importers: Map<string, string>): BunPlugin {
  const filter = new RegExp(`^(?:${unbundled.map((n) => n.replace(/[/.]/g, "\\$&")).join("|")})(?:/|$)`);
  return {
    name: "twelvefold-unbundled",
    setup(build) {
      build.onResolve({ filter }, ({ path, importer }) => {
        const name = unbundled.find((n) => path === n || path.startsWith(`${n}/`)) as string;
        if (!importers.has(name)) importers.set(name, importer);
        return { path, external: true };
      });
    },
  };
}

/** Points each lazy chunk's specifiers at its file, dist/lazy/<name>.js, imported at run time. */
function toLazyChunks(): BunPlugin {
  const chunkOf = new Map(Object.entries(lazyChunks).flatMap(([name, specs]) => specs.map((s) => [s, name] as const)));
  const filter = new RegExp(`^(?:${[...chunkOf.keys()].map((n) => n.replace(/[/.]/g, "\\$&")).join("|")})$`);
  return {
    name: "twelvefold-lazy-chunks",
    setup(build) {
      build.onResolve({ filter }, ({ path }) => ({ path: `./lazy/${chunkOf.get(path)}.js`, external: true }));
    },
  };
}

/** Builds each lazy chunk into `outdir`/lazy from an entry that re-exports its specifiers. */
async function buildLazyChunks(outdir: string, trace: boolean): Promise<Record<string, BundleEntry>> {
  const scratch = await mkdtemp(join(tmpdir(), "twelvefold-chunks-"));
  try {
    const entries = await Promise.all(
      Object.entries(lazyChunks).map(async ([name, specs]) => {
        const from = lazyImporters[name] ?? root;
        const lines = specs.map((spec) => `export * from ${JSON.stringify(Bun.resolveSync(spec, from))};`);
        const entry = join(scratch, `${name}.ts`);
        await writeFile(entry, `${lines.join("\n")}\n`);
        return entry;
      }),
    );
    const result = await Bun.build({
      entrypoints: entries,
      outdir: join(outdir, "lazy"),
      target: "bun",
      format: "cjs",
      bytecode: true,
      plugins: trace ? [traceModules(root)] : [],
      throw: false,
    });
    if (!result.success) {
      throw new AggregateError(
        result.logs,
        `build: bundling the lazy chunks failed: ${result.logs.map(String).join("; ")}`,
      );
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const chunks: Record<string, BundleEntry> = {};
  for (const name of Object.keys(lazyChunks)) chunks[name] = await entryOf(outdir, `lazy/${name}.js`);
  return chunks;
}

/** The manifest entry of the built script `file` (relative to `outdir`) and its bytecode. */
async function entryOf(outdir: string, file: string): Promise<BundleEntry> {
  const bytecodeFile = `${file}.jsc`;
  const script = await readFile(join(outdir, file));
  return {
    file,
    bytes: script.byteLength,
    bytecodeFile,
    bytecodeBytes: (await stat(join(outdir, bytecodeFile))).size,
    sha256: sha256(script),
  };
}

/** The folder of package `name` as resolved from `from` (a file), following the install's links. */
async function packageFolder(name: string, from: string): Promise<string> {
  let dir = dirname(Bun.resolveSync(name, dirname(from)));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (await Bun.file(manifest).exists()) {
      const { name: found } = (await Bun.file(manifest).json()) as { name?: string };
      if (found === name) return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`build: cannot find the folder of package "${name}" from "${from}"`);
    dir = up;
  }
}

/**
 * Copies package `name`, as resolved from the file `from`, and its dependencies into
 * `outdir`/node_modules; adds their names to `done`.
 */
export async function vendor(name: string, from: string, outdir: string, done: Set<string>): Promise<void> {
  if (done.has(name)) return;
  done.add(name);
  const folder = await packageFolder(name, from);
  await cp(folder, join(outdir, "node_modules", name), { recursive: true, dereference: true });
  const { dependencies = {} } = (await Bun.file(join(folder, "package.json")).json()) as {
    dependencies?: Record<string, string>;
  };
  for (const dependency of Object.keys(dependencies)) {
    await vendor(dependency, join(folder, "package.json"), outdir, done);
  }
}

/**
 * Builds every process type's bundle into `outdir` and writes its manifest.json.
 *
 * @example
 * ```ts
 * const manifest = await buildBundles({ outdir: "dist" });
 * console.log(manifest.bundles.web.bytes);
 * ```
 */
export async function buildBundles(options: BuildOptions = {}): Promise<BuildManifest> {
  const outdir = options.outdir ?? join(root, "dist");
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const importers = new Map<string, string>();
  const result = await Bun.build({
    entrypoints: bundleTypes.map((type) => join(root, "build", "entries", `${type}.ts`)),
    outdir,
    target: "bun",
    format: "cjs",
    bytecode: true,
    plugins: [externals(importers), toLazyChunks(), ...(options.trace ? [traceModules(root)] : [])],
    throw: false,
  });
  if (!result.success) {
    throw new AggregateError(result.logs, `build: bundling failed: ${result.logs.map(String).join("; ")}`);
  }
  const bundles = {} as Record<BundleType, BundleEntry>;
  for (const type of bundleTypes) bundles[type] = await entryOf(outdir, `${type}.js`);
  const chunks = await buildLazyChunks(outdir, options.trace === true);
  // The container's HEALTHCHECK, a plain script: it runs every few seconds and must start at once.
  const health = await Bun.build({
    entrypoints: [join(root, "build", "healthcheck.ts")],
    outdir,
    target: "bun",
    throw: false,
  });
  if (!health.success) throw new AggregateError(health.logs, "build: bundling the healthcheck failed");
  const vendored = new Set<string>();
  for (const [name, importer] of importers) await vendor(name, importer, outdir, vendored);
  const app = (await Bun.file(join(root, "apps", "agent", "package.json")).json()) as { name: string; version: string };
  const manifest: BuildManifest = {
    name: app.name,
    version: app.version,
    ...gitRevision(options.revision ?? Bun.env.GIT_REVISION),
    lockfile: { file: "bun.lock", sha256: sha256(await readFile(join(root, "bun.lock"))) },
    bun: Bun.version,
    bundles,
    chunks,
    vendored: [...vendored].sort(),
  };
  await writeFile(join(outdir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The manifest as a few lines for the terminal. */
export function describeManifest(manifest: BuildManifest, outdir: string): string {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  const lines = [
    `${manifest.name} ${manifest.version} at ${manifest.revision}${manifest.dirty ? " (uncommitted changes)" : ""}, bun ${manifest.bun}, bun.lock ${manifest.lockfile.sha256.slice(0, 12)}`,
    ...[...bundleTypes.map((type) => manifest.bundles[type]), ...Object.values(manifest.chunks)].map(
      (b) =>
        `  ${relative(root, join(outdir, b.file)).padEnd(22)} ${kib(b.bytes).padStart(9)}  bytecode ${kib(b.bytecodeBytes).padStart(9)}`,
    ),
  ];
  if (manifest.vendored.length > 0) lines.push(`  unbundled, copied to node_modules: ${manifest.vendored.join(", ")}`);
  return lines.join("\n");
}

if (import.meta.main) {
  const outdir = Bun.env.OUTDIR ?? join(root, "dist");
  const began = performance.now();
  const manifest = await buildBundles({ outdir });
  console.log(describeManifest(manifest, outdir));
  console.log(`built in ${((performance.now() - began) / 1000).toFixed(1)} s`);
}
