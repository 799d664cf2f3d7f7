import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, vendor } from "./build.ts";
import { passedEnv, smokeBundle } from "./smoke.ts";
import { bundledModules, packageOf, TRACE_GLOBAL, traceRecorder } from "./trace.ts";

const scratch: string[] = [];
const folder = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `twelvefold-${name}-`));
  scratch.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test("vendor copies an unbundled package and what it depends on, links followed, into node_modules", async () => {
  const out = folder("vendor");
  const done = new Set<string>();
  await vendor("@redis/client", join(root, "plugins", "redis", "package.json"), out, done);
  expect([...done].sort()).toEqual(["@redis/client", "cluster-key-slot"]);
  const copied = (await Bun.file(join(out, "node_modules", "@redis", "client", "package.json")).json()) as {
    name: string;
  };
  expect(copied.name).toBe("@redis/client");
  expect(await Bun.file(join(out, "node_modules", "cluster-key-slot", "package.json")).exists()).toBe(true);
});

test("vendor names the package it cannot find", async () => {
  await expect(
    vendor("no-such-package-here", join(root, "package.json"), folder("missing"), new Set()),
  ).rejects.toThrow(/no-such-package-here/);
});

test("the trace markers: what a bundle holds, the package of a path, what a run recorded", () => {
  const text = `x();\n;globalThis.${TRACE_GLOBAL}?.push("node_modules/.bun/a@1/node_modules/@s/a/i.js");\n;globalThis.${TRACE_GLOBAL}?.push("plugins/http/mod.ts");`;
  expect(bundledModules(text)).toEqual(["node_modules/.bun/a@1/node_modules/@s/a/i.js", "plugins/http/mod.ts"]);
  expect(packageOf("node_modules/.bun/a@1/node_modules/@s/a/i.js")).toBe("@s/a");
  expect(packageOf("node_modules/hono/dist/index.js")).toBe("hono");
  expect(packageOf("plugins/http/mod.ts")).toBeUndefined();
  const recorder = traceRecorder();
  try {
    (globalThis as unknown as Record<string, string[]>)[TRACE_GLOBAL]?.push("plugins/http/mod.ts");
    expect(recorder.report().bundled).toEqual(["plugins/http/mod.ts"]);
    expect(recorder.report().loaded).toContain(import.meta.path);
  } finally {
    delete (globalThis as Record<string, unknown>)[TRACE_GLOBAL];
  }
});

test("the smoke fails a bundle that exits before listening, and one that never answers ready, saying why", async () => {
  const dir = folder("smoke");
  writeFileSync(
    join(dir, "web.js"),
    'console.log(JSON.stringify({ message: "app failed to start" })); process.exit(1);',
  );
  const failed = await smokeBundle(dir, "web");
  expect(failed.problems).toEqual(["exited before listening", "exit code 1, expected 0", 'no "app stopped" line']);
  writeFileSync(
    join(dir, "worker.js"),
    [
      'const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("no", { status: 503 }) });',
      'console.log(JSON.stringify({ message: "management listening", port: server.port }));',
      'process.on("SIGTERM", () => { console.log(JSON.stringify({ message: "app stopped" })); process.exit(0); });',
    ].join("\n"),
  );
  const stuck = await smokeBundle(dir, "worker", { readyTimeoutMs: 300 });
  expect(stuck.problems).toEqual([`/readyz not 200 within 300 ms on port ${stuck.lines[0]?.port}`]);
  expect(stuck.exitCode).toBe(0);
}, 30_000);

test("the smoke kills a bundle that outlives its time and says so", async () => {
  const dir = folder("smoke-hang");
  writeFileSync(join(dir, "admin.js"), "setInterval(() => {}, 1000);");
  const hung = await smokeBundle(dir, "admin", { timeoutMs: 300 });
  expect(hung.problems[0]).toBe("no exit within 300 ms");
}, 30_000);

test("the smoke passes SMOKE_ENV_* variables on without the prefix, and nothing else", () => {
  expect(
    passedEnv({ SMOKE_ENV_REDIS_URL: "redis://127.0.0.1:6379", REDIS_URL: "redis://elsewhere", PATH: "/bin" }),
  ).toEqual({
    REDIS_URL: "redis://127.0.0.1:6379",
  });
});
