/**
 * Runs bare Bun + Hono (fixtures/bare.ts) and the full Twelvefold stack (fixtures/full.ts, from
 * source and as the bytecode bundle a release would run) side by side, alternating which goes
 * first each round, and prints the figures and the ratios
 * against the budgets: throughput on /bench/json at least 0.5x, cold start (spawn to the first
 * 200 on /readyz) at most 3x, resident memory after load at most 1.5x. Also the time an idle
 * full-stack process takes to exit after SIGTERM (budget 100 ms).
 *
 * `bun bench/run.ts` (needs wrk). Environment: ROUNDS (5: runs here vary by 10% and more), DURATION_S (5), COLD_RUNS (7),
 * CONNECTIONS (50), BENCH_TIMEOUT_S (300, the whole run is killed past it), PIN (off: `PIN=1`
 * runs each server on CPU 0 and `wrk -t1` on CPU 1 with taskset, so the load generator does
 * not take the server's core. Steadier between runs, and harsher on the full stack: bare Hono
 * gains a whole core, while the full stack's garbage collector now shares the server's).
 */
import { readFileSync, rmSync } from "node:fs";
import type { Subprocess } from "bun";
import { freePort } from "./measure.ts";

if (Bun.which("wrk") === null) throw new Error("bench: wrk is not installed (apt-get install -y wrk)");
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const DURATION_S = Number(process.env.DURATION_S ?? 5);
const COLD_RUNS = Number(process.env.COLD_RUNS ?? 7);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 300);
const PIN = process.env.PIN === "1";
const serverCpu = PIN ? ["taskset", "-c", "0"] : [];
const loadCpu = PIN ? ["taskset", "-c", "1"] : [];
const wrkThreads = PIN ? "-t1" : "-t2";

// The release runs one bytecode bundle per process type (ARCHITECTURE.md); build the full stack's.
const bundleDir = `${process.env.TMPDIR ?? "/tmp"}/twelvefold-bench-${process.pid}`;
const build = Bun.spawnSync(
  ["bun", "build", "--target=bun", "--bytecode", "--outdir", bundleDir, `${import.meta.dir}/fixtures/full.ts`],
  { stdout: "pipe", stderr: "pipe" },
);
if (!build.success) throw new Error(`bench: bundling full.ts failed: ${build.stderr.toString()}`);

const fixtures = {
  bare: `${import.meta.dir}/fixtures/bare.ts`,
  full: `${import.meta.dir}/fixtures/full.ts`,
  bundle: `${bundleDir}/full.js`,
} as const;
type Name = keyof typeof fixtures;

const children = new Set<Subprocess>();
const guard = setTimeout(() => {
  process.stderr.write(`bench: gave up after ${TIMEOUT_S} s\n`);
  for (const child of children) child.kill("SIGKILL");
  process.exit(2);
}, TIMEOUT_S * 1000);

function spawn(name: Name, port: number, env: Record<string, string> = {}): Subprocess {
  const child = Bun.spawn([...serverCpu, "bun", fixtures[name]], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: String(port), HOST: "127.0.0.1", ...env },
    stdout: "ignore",
    stderr: "inherit",
    stdin: "ignore",
  });
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

/** Milliseconds from `began` to the first 200 on /readyz. */
async function firstOk(port: number, began: number): Promise<number> {
  const url = `http://127.0.0.1:${port}/readyz`;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return performance.now() - began;
    } catch {
      // Not listening yet.
    }
    if (performance.now() - began > 10_000) throw new Error(`bench: no 200 on ${url} within 10 s`);
    await Bun.sleep(1);
  }
}

async function stop(child: Subprocess): Promise<void> {
  child.kill("SIGTERM");
  const exited = await Promise.race([child.exited, Bun.sleep(5_000).then(() => undefined)]);
  if (exited === undefined) child.kill("SIGKILL");
}

async function coldStart(name: Name): Promise<number> {
  const port = freePort();
  const began = performance.now();
  const child = spawn(name, port);
  const ms = await firstOk(port, began);
  await stop(child);
  return ms;
}

function wrk(port: number, seconds: number): { rps: number; errors: string } {
  const run = Bun.spawnSync(
    [...loadCpu, "wrk", wrkThreads, `-c${CONNECTIONS}`, `-d${seconds}s`, `http://127.0.0.1:${port}/bench/json`],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = run.stdout.toString();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const errors = [/Non-2xx or 3xx responses: \d+/.exec(out)?.[0], /Socket errors:.*/.exec(out)?.[0]]
    .filter(Boolean)
    .join("; ");
  return { rps, errors };
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function throughput(name: Name): Promise<{ rps: number; rss: number; errors: string }> {
  const port = freePort();
  const child = spawn(name, port);
  await firstOk(port, performance.now());
  wrk(port, 1); // warm-up: JIT, pools
  const { rps, errors } = wrk(port, DURATION_S);
  const rss = rssMiB(child.pid);
  await stop(child);
  return { rps, rss, errors };
}

async function idleExit(): Promise<number> {
  const port = freePort();
  const child = spawn("full", port, { DRAIN_DELAY_MS: "0" });
  await firstOk(port, performance.now());
  await Bun.sleep(50);
  const began = performance.now();
  child.kill("SIGTERM");
  await child.exited;
  return performance.now() - began;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const results: Record<Name, { rps: number[]; rss: number[]; cold: number[] }> = {
  bare: { rps: [], rss: [], cold: [] },
  full: { rps: [], rss: [], cold: [] },
  bundle: { rps: [], rss: [], cold: [] },
};

const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(
  `bench: ${ROUNDS} rounds, wrk ${wrkThreads} -c${CONNECTIONS} -d${DURATION_S}s${PIN ? " (server on cpu 0, wrk on cpu 1)" : ""}, ${COLD_RUNS} cold starts each; load average ${load}`,
);

for (let round = 0; round < ROUNDS; round++) {
  const order: Name[] = round % 2 === 0 ? ["bare", "full", "bundle"] : ["bundle", "full", "bare"];
  for (const name of order) {
    for (let i = 0; i < COLD_RUNS; i++) results[name].cold.push(await coldStart(name));
    const { rps, rss, errors } = await throughput(name);
    results[name].rps.push(rps);
    results[name].rss.push(rss);
    console.log(
      `round ${round + 1} ${name.padEnd(6)}  ${rps.toFixed(0).padStart(7)} req/s  rss ${rss.toFixed(1)} MiB  ` +
        `cold median ${median(results[name].cold.slice(-COLD_RUNS)).toFixed(1)} ms${errors ? `  (${errors})` : ""}`,
    );
  }
}

const exits: number[] = [];
for (let i = 0; i < 5; i++) exits.push(await idleExit());

const summary = (name: Name) => ({
  rps: median(results[name].rps),
  rss: median(results[name].rss),
  cold: median(results[name].cold),
});
const bare = summary("bare");
const verdict = (ok: boolean) => (ok ? "ok" : "OVER BUDGET");
console.log("");
console.log(
  `against bare Bun + Hono (${bare.rps.toFixed(0)} req/s, cold ${bare.cold.toFixed(1)} ms, ${bare.rss.toFixed(1)} MiB)`,
);
for (const name of ["full", "bundle"] as const) {
  const it = summary(name);
  const label = name === "full" ? "full stack from source" : "full stack as bytecode bundle (what a release runs)";
  console.log(`${label}:`);
  console.log(
    `  throughput ${it.rps.toFixed(0).padStart(7)} req/s  ${(it.rps / bare.rps).toFixed(2)}x  (>= 0.5x) ${verdict(it.rps / bare.rps >= 0.5)}`,
  );
  console.log(
    `  cold start ${it.cold.toFixed(1).padStart(7)} ms     ${(it.cold / bare.cold).toFixed(2)}x  (<= 3x)   ${verdict(it.cold / bare.cold <= 3)}`,
  );
  console.log(
    `  rss (load) ${it.rss.toFixed(1).padStart(7)} MiB    ${(it.rss / bare.rss).toFixed(2)}x  (<= 1.5x) ${verdict(it.rss / bare.rss <= 1.5)}`,
  );
}
console.log(
  `idle exit after SIGTERM (full, DRAIN_DELAY_MS=0): median ${median(exits).toFixed(1)} ms, max ${Math.max(...exits).toFixed(1)} ms  (<= 100 ms) ${verdict(Math.max(...exits) <= 100)}`,
);
const after = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(`load average after: ${after}`);
rmSync(bundleDir, { recursive: true, force: true });
clearTimeout(guard);
