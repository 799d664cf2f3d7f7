import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * A saved PGlite template: the data folder of a freshly initialised PGlite, as the gzipped tarball
 * `dumpDataDir()` makes (about 4.6 MB). Loading it skips initdb, which is most of a first start:
 * measured here, in memory 2.3-2.9 s from scratch and 0.44-0.60 s from the template; into an
 * empty folder 3.6-4.5 s from scratch and about 0.8 s from the template.
 */
export interface TemplateStore {
  /** The template's bytes, or undefined when none is saved (or it cannot be read). */
  load(): Blob | undefined;
  /** Saves a template, atomically: a concurrent reader sees the old file or the new one, whole. */
  save(template: Blob): Promise<void>;
  readonly path: string;
}

/** The installed PGlite's version, which keys the template (a template only fits its own version). */
export function pgliteVersion(): string {
  try {
    // createRequire rather than import.meta.resolve: a bytecode bundle is CommonJS, and Bun then
    // compiles no bytecode for a module that uses import.meta.resolve (the bundle silently runs from source).
    const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
    const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** The template store in the machine's temp folder, shared by every test process and app on it. */
export function templateStore(folder = join(tmpdir(), "twelvefold-pglite")): TemplateStore {
  const path = join(folder, `template-${pgliteVersion()}.tar.gz`);
  return {
    path,
    load() {
      try {
        return new Blob([readFileSync(path)]);
      } catch {
        return undefined;
      }
    },
    async save(template) {
      mkdirSync(folder, { recursive: true });
      const partial = `${path}.${process.pid}.${crypto.randomUUID().slice(0, 8)}`;
      writeFileSync(partial, new Uint8Array(await template.arrayBuffer()));
      renameSync(partial, path);
    },
  };
}
