/**
 * WORKERS on this machine: req/s of the full stack's web process (bench/fixtures/full.ts, as a
 * bytecode bundle, run as `web`) with WORKERS=1 and WORKERS=2 on one port, under `wrk -t2 -c50`
 * on /bench/json, alternating which goes first each round. wrk shares the machine's cores with the
 * server, so on 2 cores the second copy competes with the load generator: the figure is what one
 * container of this size gains, not a scaling law.
 *
 * `bun bench/workers.ts` (needs wrk). Environment: ROUNDS (4), DURATION_S (5), CONNECTIONS (50).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "./measure.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const DURATION_S = Number(process.env.DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);

if (Bun.which("wrk") === null) throw new Error("bench: wrk is not installed (apt-get install -y wrk)");
const dir = mkdtempSync(join(tmpdir(), "twelvefold-workers-bench-"));
const build = Bun.spawnSync(
  ["bun", "build", "--target=bun", "--bytecode", "--outdir", dir, join(import.meta.dir, "fixtures", "full.ts")],
  { stdout: "pipe", stderr: "pipe" },
);
if (!build.success) throw new Error(`bench: bundling full.ts failed: ${build.stderr.toString()}`);

async function ready(port: number, copies: number, child: Subprocess<"ignore", "pipe", "inherit">): Promise<void> {
  // Every copy logs "app ready"; wait for all of them, then for /readyz.
  const decoder = new TextDecoder();
  let seen = 0;
  let text = "";
  const reader = child.stdout.getReader();
  const until = performance.now() + 15_000;
  while (seen < copies) {
    if (performance.now() > until) throw new Error(`bench: ${copies} copies not ready within 15 s`);
    const { value, done } = await reader.read();
    if (done) throw new Error("bench: the server exited");
    text += decoder.decode(value, { stream: true });
    seen = text.split('"message":"app ready"').length - 1;
  }
  reader.releaseLock();
  void child.stdout.pipeTo(new WritableStream());
  for (;;) {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    await response?.arrayBuffer();
    if (response?.status === 200) return;
    await Bun.sleep(5);
  }
}

function wrk(port: number, seconds: number): { rps: number; errors: string } {
  const run = Bun.spawnSync(
    ["wrk", "-t2", `-c${CONNECTIONS}`, `-d${seconds}s`, `http://127.0.0.1:${port}/bench/json`],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = run.stdout.toString();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const errors = [/Non-2xx or 3xx responses: \d+/.exec(out)?.[0], /Socket errors:.*/.exec(out)?.[0]]
    .filter(Boolean)
    .join("; ");
  return { rps, errors };
}

async function measure(workers: number): Promise<{ rps: number; errors: string }> {
  const port = freePort();
  const child = Bun.spawn(["bun", join(dir, "full.js"), "web"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      WORKERS: String(workers),
      HTTP_ACCESS_LOG: "false",
    },
    stdout: "pipe",
    stderr: "inherit",
    stdin: "ignore",
  });
  try {
    await ready(port, workers, child);
    wrk(port, 1); // warm-up: JIT, pools, every copy's connections
    return wrk(port, DURATION_S);
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(
  `bench/workers: ${ROUNDS} rounds, wrk -t2 -c${CONNECTIONS} -d${DURATION_S}s, ${navigator.hardwareConcurrency} cores; load average ${load}`,
);
const results: Record<1 | 2, number[]> = { 1: [], 2: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const workers of round % 2 === 0 ? ([1, 2] as const) : ([2, 1] as const)) {
    const { rps, errors } = await measure(workers);
    results[workers].push(rps);
    console.log(
      `round ${round + 1} WORKERS=${workers}  ${rps.toFixed(0).padStart(7)} req/s${errors ? `  (${errors})` : ""}`,
    );
  }
}
const one = median(results[1]);
const two = median(results[2]);
console.log("");
console.log(`WORKERS=1 ${one.toFixed(0)} req/s, WORKERS=2 ${two.toFixed(0)} req/s: ${(two / one).toFixed(2)}x`);
console.log(`load average after: ${(await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ")}`);
rmSync(dir, { recursive: true, force: true });
