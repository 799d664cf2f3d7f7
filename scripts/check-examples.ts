/**
 * Type-checks every TypeScript example in a README.md and in the doc comments of each package's
 * entry files (mod.ts and the other files its package.json exports), as Deno std checks its docs.
 * A block fenced ```ts (or ```typescript) must compile as a module on its own; a block that is a
 * fragment says so in its info string, ```ts fragment, and is skipped.
 *
 * Each block is written beside the file it came from (in a `.examples/` folder, removed after),
 * so it resolves that package's dependencies; `@twelvefold/*` resolve to the workspace's sources.
 * Errors are reported at the example's own line: `plugins/http/README.md:42: TS2345 ...`.
 *
 * `bun scripts/check-examples.ts` (also `bun run check:examples`); exits 1 on any error.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const root = join(import.meta.dir, "..");

interface Example {
  /** Where it came from, relative to the root. */
  readonly source: string;
  /** Line of the block's first code line in the source (1-based). */
  readonly line: number;
  readonly code: string;
}

interface Workspace {
  readonly dir: string;
  readonly name: string;
  readonly exports: Record<string, string>;
}

function workspaces(): Workspace[] {
  const found: Workspace[] = [];
  for (const group of ["packages", "plugins", "apps"]) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base, { withFileTypes: true })) {
      const manifest = join(base, entry.name, "package.json");
      if (!entry.isDirectory() || !existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { name: string; exports?: Record<string, string> };
      found.push({ dir: join(base, entry.name), name: pkg.name, exports: pkg.exports ?? {} });
    }
  }
  return found;
}

const FENCE = /^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```/gm;

/** The ```ts blocks of a text, with the line each one's code starts on. */
function blocks(text: string, source: string, lineOf: (index: number) => number): Example[] {
  const out: Example[] = [];
  for (const match of text.matchAll(FENCE)) {
    const info = (match[2] ?? "").trim();
    if (/\bfragment\b/.test(info)) continue;
    const codeStart = (match.index ?? 0) + match[0].indexOf("\n") + 1;
    out.push({ source, line: lineOf(codeStart), code: match[3] ?? "" });
  }
  return out;
}

function lineCounter(text: string): (index: number) => number {
  return (index) => text.slice(0, index).split("\n").length;
}

function fromMarkdown(path: string): Example[] {
  const text = readFileSync(path, "utf8");
  return blocks(text, relative(root, path), lineCounter(text));
}

/** Examples in doc comments: the comment's ` * ` prefixes stripped, line numbers kept. */
function fromDocComments(path: string): Example[] {
  const text = readFileSync(path, "utf8");
  const lineOf = lineCounter(text);
  const out: Example[] = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const start = comment.index ?? 0;
    const firstLine = lineOf(start);
    const body = comment[0]
      .split("\n")
      .map((l) => l.replace(/^\s*\/?\*\*?\/? ?/, "").replace(/\s*\*\/$/, ""))
      .join("\n");
    const local = lineCounter(body);
    out.push(...blocks(body, relative(root, path), (index) => firstLine + local(index) - 1));
  }
  return out;
}

function collect(spaces: readonly Workspace[]): Example[] {
  const examples: Example[] = [];
  const readmes = [join(root, "README.md"), ...spaces.map((w) => join(w.dir, "README.md"))];
  for (const readme of readmes) if (existsSync(readme)) examples.push(...fromMarkdown(readme));
  for (const space of spaces) {
    for (const entry of new Set(Object.values(space.exports))) {
      const file = join(space.dir, entry);
      if (file.endsWith(".ts") && existsSync(file)) examples.push(...fromDocComments(file));
    }
  }
  return examples;
}

/** `@twelvefold/x` and its subpaths to their source files, from each package's exports map. */
function paths(spaces: readonly Workspace[]): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const space of spaces) {
    for (const [subpath, file] of Object.entries(space.exports)) {
      const name = subpath === "." ? space.name : `${space.name}/${subpath.replace(/^\.\//, "")}`;
      map[name] = [`./${relative(root, join(space.dir, file))}`];
    }
  }
  return map;
}

const spaces = workspaces();
const examples = collect(spaces);
const written = new Map<string, Example>();
const folders = new Set<string>();
let status = 0;
try {
  const counts = new Map<string, number>();
  for (const example of examples) {
    const folder = join(root, dirname(example.source), ".examples");
    folders.add(folder);
    mkdirSync(folder, { recursive: true });
    const stem = example.source.replace(/[^A-Za-z0-9]+/g, "_");
    const n = (counts.get(stem) ?? 0) + 1;
    counts.set(stem, n);
    const file = join(folder, `${stem}_${n}.ts`);
    // `export {}` makes each block a module of its own (top-level await, no shared names).
    writeFileSync(file, `${example.code}\nexport {};\n`);
    written.set(relative(root, file), example);
  }
  const config = join(root, ".examples.tsconfig.json");
  writeFileSync(
    config,
    JSON.stringify({
      extends: "./tsconfig.json",
      compilerOptions: { paths: paths(spaces), noUnusedLocals: false },
      include: [...written.keys()],
      exclude: [],
    }),
  );
  folders.add(config);
  const tsc = Bun.spawnSync([join(root, "node_modules/.bin/tsc"), "--noEmit", "-p", config], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = `${tsc.stdout.toString()}${tsc.stderr.toString()}`;
  let errors = 0;
  for (const line of output.split("\n")) {
    const match = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line);
    if (!match) {
      if (line.trim() !== "") console.log(line);
      continue;
    }
    const [, file = "", row = "0", , message = ""] = match;
    const example = written.get(file);
    errors++;
    if (!example) console.log(line);
    else console.log(`${example.source}:${example.line + Number(row) - 1}: ${message}`);
  }
  if (tsc.exitCode !== 0) {
    status = 1;
    console.log(
      `\n${errors} error(s) in ${examples.length} TypeScript examples. Fix the example, or mark a block that is a fragment: \`\`\`ts fragment`,
    );
  } else {
    console.log(`${examples.length} TypeScript examples type-check`);
  }
} finally {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
}
process.exit(status);
