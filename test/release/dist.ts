/**
 * One traced build of the bundles for every release test in the run (bun test runs the files in
 * one process): a traced bundle runs exactly as the release bundle does, its markers doing nothing
 * unless the trace preload is given (see build/trace.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildManifest, buildBundles } from "../../build/build.ts";

let built: Promise<{ dir: string; manifest: BuildManifest }> | undefined;

/** The folder of the traced bundles and their manifest, built on first use and removed at exit. */
export function tracedDist(): Promise<{ dir: string; manifest: BuildManifest }> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "twelvefold-traced-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    return { dir, manifest: await buildBundles({ outdir: dir, trace: true }) };
  })();
  return built;
}
