/**
 * The release's cold-start budget: the built `web` bundle of the sample agent (dist/web.js, as the
 * image runs it), with PostgreSQL and Redis configured and OTLP export on, must answer 200 on
 * /readyz within 2x of bare Bun + Hono's cold start, measured side by side in the same run. Also
 * reported: the same bundle with the exporter off, the agent from source, for scale, and the floor
 * (bench/fixtures/floor.ts as a bytecode bundle: Hono plus postgres.js with drizzle making one round
 * trip and node-redis answering PING, none of the kernel): what no app on these drivers can beat.
 *
 * `bun bench/release.ts` (needs the local PostgreSQL and Redis). Environment: ROUNDS (5), COLD_RUNS
 * (9 per variant and round), BENCH_TIMEOUT_S (300). Each round alternates the order of the variants.
 * Cold start: from spawn to the first 200 on /readyz, so every plugin has started. The bench makes a
 * database of its own (twelvefold_bench_<pid>), migrates it with the admin bundle, and drops it after.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { buildBundles } from "../build/build.ts";
import { freePort } from "./measure.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const COLD_RUNS = Number(process.env.COLD_RUNS ?? 9);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 300);
const root = join(import.meta.dir, "..");

const dist = mkdtempSync(join(tmpdir(), "twelvefold-release-bench-"));
const database = `twelvefold_bench_${process.pid}`;
const children = new Set<Subprocess>();
const cleanup = () => {
  for (const child of children) child.kill("SIGKILL");
  Bun.spawnSync([
    "psql",
    "-h",
    "127.0.0.1",
    "-U",
    "postgres",
    "-d",
    "test",
    "-qc",
    `DROP DATABASE IF EXISTS ${database}`,
  ]);
  rmSync(dist, { recursive: true, force: true });
};
const guard = setTimeout(() => {
  process.stderr.write(`bench: gave up after ${TIMEOUT_S} s\n`);
  cleanup();
  process.exit(2);
}, TIMEOUT_S * 1000);

const manifest = await buildBundles({ outdir: dist });
// The floor, built as the release is built: a CommonJS bytecode bundle.
const floorBuild = await Bun.build({
  entrypoints: [join(import.meta.dir, "fixtures", "floor.ts")],
  outdir: join(dist, "floor"),
  target: "bun",
  format: "cjs",
  bytecode: true,
  throw: false,
});
if (!floorBuild.success) throw new AggregateError(floorBuild.logs, "bench: bundling the floor failed");
const created = Bun.spawnSync([
  "psql",
  "-h",
  "127.0.0.1",
  "-U",
  "postgres",
  "-d",
  "test",
  "-qc",
  `CREATE DATABASE ${database}`,
]);
if (!created.success) throw new Error(`bench: cannot create database ${database}: ${created.stderr.toString()}`);

// An OTLP/HTTP collector that takes everything: export is on, and costs what it costs.
const collector = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(null, { status: 200 }) });

const backing = {
  DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
  REDIS_URL: "redis://127.0.0.1:6379",
  REDIS_KEY_PREFIX: `tf-bench-${process.pid}:`,
};
const base = {
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  ENVIRONMENT: "staging",
  LOG_LEVEL: "info",
  LOG_FORMAT: "json",
  HOST: "127.0.0.1",
  DRAIN_DELAY_MS: "0",
  ...backing,
};
const otlpOn = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}` };

const variants = {
  bare: { cmd: ["bun", join(import.meta.dir, "fixtures", "bare.ts")], env: {} },
  "floor bundle": { cmd: ["bun", join(dist, "floor", "floor.js")], env: {} },
  "bundle, OTLP on": { cmd: ["bun", join(dist, "web.js")], env: otlpOn },
  "bundle, OTLP off": { cmd: ["bun", join(dist, "web.js")], env: {} },
  "source, OTLP on": { cmd: ["bun", join(root, "apps", "agent", "src", "main.ts"), "web"], env: otlpOn },
} as const;
type Variant = keyof typeof variants;

const migrate = Bun.spawnSync(["bun", join(dist, "admin.js"), "migrate"], {
  cwd: dist,
  env: { ...base, LOG_LEVEL: "warn" },
  stdout: "pipe",
  stderr: "pipe",
});
const migrated = migrate.success ? "migrated" : `not migrated (admin migrate exited ${migrate.exitCode})`;

/** Milliseconds from spawn to the first 200 on /readyz, and the plugins the process started. */
async function coldStart(variant: Variant): Promise<{ ms: number; plugins: string[]; startMs: number }> {
  const port = freePort();
  const { cmd, env } = variants[variant];
  const began = performance.now();
  const child = Bun.spawn([...cmd], {
    cwd: dist,
    env: { ...base, ...env, PORT: String(port) },
    stdout: "pipe",
    stderr: "inherit",
    stdin: "ignore",
  });
  children.add(child);
  const url = `http://127.0.0.1:${port}/readyz`;
  let ms = Number.NaN;
  for (;;) {
    const response = await fetch(url).catch(() => undefined);
    await response?.arrayBuffer();
    if (response?.status === 200) {
      ms = performance.now() - began;
      break;
    }
    if (performance.now() - began > 15_000) throw new Error(`bench: ${variant}: no 200 on /readyz within 15 s`);
    await Bun.sleep(1);
  }
  child.kill("SIGTERM");
  const out = await new Response(child.stdout).text();
  await child.exited;
  children.delete(child);
  const lines = out.split("\n").flatMap((line) => {
    try {
      return [JSON.parse(line) as { message?: string; plugin?: string; duration_ms?: number }];
    } catch {
      return [];
    }
  });
  const plugins = lines.flatMap((l) => (l.message === "plugin started" && l.plugin ? [l.plugin] : [])).sort();
  // The kernel's own figure: config, graph and every plugin's start, from start() to ready.
  const startMs = lines.find((l) => l.message === "app ready")?.duration_ms ?? Number.NaN;
  return { ms, plugins, startMs };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(
  `bench/release: ${ROUNDS} rounds x ${COLD_RUNS} cold starts per variant; web bundle ${(manifest.bundles.web.bytes / 1024).toFixed(0)} KiB + ${(manifest.bundles.web.bytecodeBytes / 1024).toFixed(0)} KiB bytecode; database ${migrated}; load average ${load}`,
);
const names = Object.keys(variants) as Variant[];
const results = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Variant, number[]>;
const starts = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Variant, number[]>;
let started: Record<string, string[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? names : [...names].reverse();
  for (const name of order) {
    for (let i = 0; i < COLD_RUNS; i++) {
      const { ms, plugins, startMs } = await coldStart(name);
      results[name].push(ms);
      starts[name].push(startMs);
      started = { ...started, [name]: plugins };
    }
  }
  console.log(
    `round ${round + 1}: ${names.map((n) => `${n} ${median(results[n].slice(-COLD_RUNS)).toFixed(1)} ms`).join(", ")}`,
  );
}

const bare = median(results.bare);
console.log("");
console.log(
  `cold start to the first 200 on /readyz, median of ${ROUNDS * COLD_RUNS}, against bare Bun + Hono (${bare.toFixed(1)} ms):`,
);
const floor = median(results["floor bundle"]);
for (const name of names.filter((n) => n !== "bare")) {
  const ratio = median(results[name]) / bare;
  const budget = name.startsWith("bundle") ? `  (<= 2x) ${ratio <= 2 ? "ok" : "OVER BUDGET"}` : "";
  const start = median(starts[name]);
  const detail =
    name === "floor bundle"
      ? "   Hono + postgres.js/drizzle select 1 + node-redis PING: no app on these drivers starts sooner"
      : `   ${(median(results[name]) / floor).toFixed(2)}x the floor; start() to ready ${start.toFixed(1)} ms, the rest process, load and first answer`;
  console.log(
    `  ${name.padEnd(18)} ${median(results[name]).toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}x${budget}${detail}`,
  );
}
console.log(`plugins started by the bundle: ${(started["bundle, OTLP on"] ?? []).join(", ")}`);
const after = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(`load average after: ${after}`);
collector.stop(true);
cleanup();
clearTimeout(guard);
