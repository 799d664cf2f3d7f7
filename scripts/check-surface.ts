/**
 * Checks each package's public surface, as Deno std checks its mod.ts files with a script:
 *
 * 1. An entry file (mod.ts, and the others a package.json `exports` map names) only re-exports:
 *    besides its doc comments, every statement is `export ... from "..."`.
 * 2. Everything an entry file exports is something a user needs: a name used outside its own
 *    package (another package, an app, a cross-package test or bench, a README or doc example),
 *    or named by the declaration of another export that is (an options type in a signature).
 *    A name only its own package uses is flagged: drop it from the entry file.
 *
 * `bun scripts/check-surface.ts` (also `bun run check:surface`); exits 1 on any finding.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = join(import.meta.dir, "..");

interface Workspace {
  readonly dir: string;
  readonly name: string;
  readonly entries: readonly string[];
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
      const entries = [...new Set(Object.values(pkg.exports ?? {}))]
        .map((file) => join(base, entry.name, file))
        .filter((file) => file.endsWith(".ts") && existsSync(file));
      found.push({ dir: join(base, entry.name), name: pkg.name, entries });
    }
  }
  return found;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (/\.(ts|md)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** The text with comments blanked out (strings are kept; none of these files hide `//` in one). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(/\/\/[^\n]*/g, "");
}

/** The names an entry exports, with the file each comes from. */
function exportsOf(entry: string, problems: string[]): Map<string, string> {
  const names = new Map<string, string>();
  const body = code(readFileSync(entry, "utf8"));
  const statements = body
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const statement of statements) {
    const from = /\bfrom\s+"([^"]+)"$/.exec(statement)?.[1];
    if (!statement.startsWith("export") || from === undefined) {
      problems.push(`${relative(root, entry)}: only re-exports belong in an entry file: ${statement.split("\n")[0]}`);
      continue;
    }
    const source = from.startsWith(".") ? resolve(dirname(entry), from) : from;
    const list = /^export\s+(?:type\s+)?\{([\s\S]*)\}/.exec(statement)?.[1];
    if (list !== undefined) {
      for (const item of list.split(",")) {
        const name = item
          .trim()
          .replace(/^type\s+/, "")
          .split(/\s+as\s+/)
          .at(-1)
          ?.trim();
        if (name) names.set(name, source);
      }
    } else if (/^export\s+(?:type\s+)?\*\s+from/.test(statement) && existsSync(source)) {
      for (const match of code(readFileSync(source, "utf8")).matchAll(
        /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:const|let|function\*?|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm,
      )) {
        names.set(match[1] as string, source);
      }
    }
  }
  return names;
}

/**
 * The text of `name`'s declaration in `file`, doc comments inside it included (a `{@link Other}`
 * names a type a user meets): from its `export` to the end of its block or statement.
 */
function declaration(file: string, name: string): string {
  if (!existsSync(file) || !statSync(file).isFile()) return "";
  const text = readFileSync(file, "utf8");
  const at = new RegExp(
    `^export\\s+(?:declare\\s+)?(?:abstract\\s+)?(?:async\\s+)?(?:const|let|function\\*?|class|interface|type|enum)\\s+${name}\\b`,
    "m",
  ).exec(text)?.index;
  if (at === undefined) return "";
  // Its own doc comment, just above it, counts as part of it.
  const before = text.slice(0, at).trimEnd();
  const doc = before.endsWith("*/") ? before.slice(before.lastIndexOf("/**")) : "";
  return doc + body(text, at);
}

function body(text: string, at: number): string {
  let depth = 0;
  let seenBrace = false;
  for (let i = at; i < text.length; i++) {
    const ch = text[i];
    if (ch === "{" || ch === "(" || ch === "[") {
      depth++;
      seenBrace = true;
    } else if (ch === "}" || ch === ")" || ch === "]") depth--;
    // A declaration ends at a `;` or a closing brace back at depth 0, or at an empty line.
    if (depth === 0 && (ch === ";" || (seenBrace && ch === "}" && text[i + 1] === "\n"))) return text.slice(at, i + 1);
    if (depth === 0 && text.startsWith("\n\n", i)) return text.slice(at, i);
  }
  return text.slice(at);
}

const spaces = workspaces();
const files = walk(root);
const texts = new Map(files.map((f) => [f, readFileSync(f, "utf8")]));
const problems: string[] = [];
let checked = 0;

for (const space of spaces) {
  for (const entry of space.entries) {
    const names = exportsOf(entry, problems);
    checked += names.size;
    const outside = [...texts].filter(([file]) => !file.startsWith(`${space.dir}/`) || file.endsWith(".md"));
    const docs = [...texts].filter(([file]) => file.startsWith(`${space.dir}/`) && !file.endsWith(".md"));
    const sources = docs.map(([file]) => file).filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"));
    const publicNames = new Set<string>();
    for (const name of names.keys()) {
      const word = new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`);
      if (outside.some(([, text]) => word.test(text))) publicNames.add(name);
      // Named in an @example inside the package's own doc comments counts too.
      else if (
        docs.some(([, text]) =>
          [...text.matchAll(/```ts[\s\S]*?```/g)].some((m) => word.test(m[0]) && m[0].includes("*")),
        )
      )
        publicNames.add(name);
    }
    // Names in the declarations of public exports (their options and result types) are public too.
    for (let grew = true; grew; ) {
      grew = false;
      for (const name of publicNames) {
        // Its declaration wherever the package has one (a re-exported alias points to the real one).
        const text = sources.map((file) => declaration(file, name)).join("\n");
        for (const other of names.keys()) {
          if (!publicNames.has(other) && new RegExp(`\\b${other}\\b`).test(text)) {
            publicNames.add(other);
            grew = true;
          }
        }
      }
    }
    for (const name of names.keys()) {
      if (!publicNames.has(name)) {
        problems.push(
          `${relative(root, entry)}: exports ${name}, which nothing outside ${space.name} uses and no public declaration or example names: drop it from the entry file, or show it in the README`,
        );
      }
    }
  }
}

for (const problem of problems) console.log(problem);
console.log(
  problems.length === 0
    ? `public surface: ${checked} exports of ${spaces.length} packages, each needed outside its package`
    : `\npublic surface: ${problems.length} problem(s) in ${checked} exports`,
);
process.exit(problems.length === 0 ? 0 : 1);
