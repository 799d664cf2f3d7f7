import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@twelvefold/kernel";
import { openPglite } from "./pglite.ts";
import { pgliteVersion, templateStore } from "./template.ts";

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
function temp(): string {
  const folder = mkdtempSync(join(tmpdir(), "tf-template-"));
  folders.push(folder);
  return folder;
}

test("the template is keyed by the installed PGlite's version", () => {
  expect(pgliteVersion()).toBe("0.5.17");
  expect(templateStore(temp()).path).toEndWith("template-0.5.17.tar.gz");
});

test("a store without a template loads nothing; a saved one loads whole, and no partial file is left", async () => {
  const folder = join(temp(), "nested");
  const store = templateStore(folder);
  expect(store.load()).toBeUndefined();
  await store.save(new Blob(["tarball bytes"]));
  expect(await store.load()?.text()).toBe("tarball bytes");
  expect(readdirSync(folder)).toEqual(["template-0.5.17.tar.gz"]);
});

test("an unusable template is logged and the start goes on from scratch", async () => {
  const store = templateStore(temp());
  writeFileSync(store.path, "not a tarball");
  const lines: string[] = [];
  const logger = createLogger({ write: (line) => lines.push(line) });
  const driver = await openPglite({ dataDir: join(temp(), "data"), logger, templates: store }, undefined);
  try {
    await driver.ping(AbortSignal.timeout(5_000));
  } finally {
    await driver.close(1_000);
  }
  const logged = lines.map((l) => JSON.parse(l) as { message: string; from?: string });
  expect(logged.map((l) => l.message)).toContain("pglite template unusable: starting from scratch");
  expect(logged.find((l) => l.message === "pglite opened")?.from).toBe("initdb");
}, 60_000);
