/**
 * A/B of server CPU per request: two or more servers loaded at the same time, so whatever else the
 * machine does in a round falls on all of them alike. Every server runs on CPU 0, each under its
 * own `wrk -t1` on CPU 1, and each round reports every variant's CPU per request as a ratio to the
 * first. On a shared two-core machine, where bench/cpu.ts swings 20% between rounds, these ratios
 * keep their order round after round, so a change of a few percent can be seen.
 *
 * `bun bench/ab.ts <fixture> <fixture?ENV=value&ENV=value> ...` (Linux, needs wrk and taskset). A
 * fixture is a path, or a name in bench/fixtures; the same file with different settings, or one
 * file from two checkouts (`/work/main/bench/fixtures/full.ts /work/wt/x/bench/fixtures/full.ts`),
 * compares two versions. Environment: ROUNDS (5), DURATION_S (4), CONNECTIONS (25 per server),
 * URL_PATH (/bench/json).
 */
import { existsSync } from "node:fs";
import { cpuTicks, freePort } from "./measure.ts";

for (const tool of ["wrk", "taskset"]) {
  if (Bun.which(tool) === null) throw new Error(`bench: ${tool} is not installed`);
}
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const DURATION_S = Number(process.env.DURATION_S ?? 4);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 25);
const URL_PATH = process.env.URL_PATH ?? "/bench/json";
const ticksPerSecond = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim() || 100);

interface Variant {
  label: string;
  file: string;
  env: Record<string, string>;
}

function parseVariant(argument: string): Variant {
  const [path = "", query = ""] = argument.split("?", 2);
  const file = existsSync(path) ? path : `${import.meta.dir}/fixtures/${path.endsWith(".ts") ? path : `${path}.ts`}`;
  if (!existsSync(file)) throw new Error(`bench: no fixture at ${path}`);
  return { label: argument, file, env: Object.fromEntries(new URLSearchParams(query)) };
}

const variants = process.argv.slice(2).map(parseVariant);
if (variants.length < 2)
  throw new Error("bench: give at least two fixtures, e.g. `bun bench/ab.ts full full?HTTP_ACCESS_LOG=false`");

/** Requests served by one wrk run against `port`. */
async function load(port: number, seconds: number): Promise<number> {
  const args = [
    "taskset",
    "-c",
    "1",
    "wrk",
    "-t1",
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    `http://127.0.0.1:${port}${URL_PATH}`,
  ];
  const run = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(run.stdout).text();
  await run.exited;
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`bench: wrk saw errors:\n${out}`);
  return Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
}

async function answering(port: number, label: string): Promise<void> {
  for (let tries = 0; tries <= 200; tries++) {
    const answer = await fetch(`http://127.0.0.1:${port}${URL_PATH}`).catch(() => undefined);
    if (answer?.ok) return;
    await Bun.sleep(50);
  }
  throw new Error(`bench: ${label} did not answer within 10 s`);
}

const servers = variants.map((variant) => {
  const port = freePort();
  // exec'd through taskset, so the pid is the server's own.
  const child = Bun.spawn(["taskset", "-c", "0", "bun", variant.file], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: String(port), ...variant.env },
    stdout: "ignore",
    stderr: "inherit",
  });
  return { ...variant, port, child };
});

const ratios = variants.map(() => [] as number[]);
try {
  await Promise.all(servers.map((s) => answering(s.port, s.label)));
  await Promise.all(servers.map((s) => load(s.port, 1))); // warm-up: JIT, pools
  console.log(
    `bench/ab: ${ROUNDS} rounds, all servers on CPU 0 at once, wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s each on CPU 1`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    const before = servers.map((s) => cpuTicks(s.child.pid));
    const requests = await Promise.all(servers.map((s) => load(s.port, DURATION_S)));
    const us = servers.map(
      (s, i) => (((cpuTicks(s.child.pid) - (before[i] ?? 0)) / ticksPerSecond) * 1e6) / (requests[i] ?? 1),
    );
    const first = us[0] ?? 1;
    for (const [i, value] of us.entries()) ratios[i]?.push(value / first);
    console.log(
      `round ${round}  ${us.map((value, i) => `${value.toFixed(2)} µs (${(value / first).toFixed(3)}x) ${servers[i]?.label}`).join("  |  ")}`,
    );
  }
} finally {
  for (const s of servers) s.child.kill("SIGKILL");
  await Promise.all(servers.map((s) => s.child.exited));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
console.log("\nmedian CPU per request against the first:");
variants.forEach((variant, i) => {
  const values = ratios[i] ?? [];
  console.log(`  ${median(values).toFixed(3)}x  (${values.map((r) => r.toFixed(3)).join(" ")})  ${variant.label}`);
});
