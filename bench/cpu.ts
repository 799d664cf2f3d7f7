/**
 * Server CPU per request under load: bare Bun + Hono (fixtures/bare.ts) and variants of the full
 * stack (fixtures/full.ts), alternating, each served on CPU 0 while `wrk -t1` loads it from CPU 1.
 * The figure is the server's user + system CPU time over the run divided by the requests it
 * served. On a shared or virtual machine it is far steadier than req/s (repeats agree within about
 * 0.5 µs where req/s swings 8%), so it is the one to use when deciding whether a change of a
 * microsecond is real; bench/run.ts stays the budget's measure.
 *
 * `bun bench/cpu.ts` (Linux, needs wrk and taskset). Environment: ROUNDS (3), DURATION_S (4),
 * CONNECTIONS (50), VARIANTS (`name=ENV=value,ENV=value;name2=...`, default: full, and full without
 * each of rate-limit, otel, metrics and the access log, and with none of them).
 */
import { cpuTicks, freePort } from "./measure.ts";

for (const tool of ["wrk", "taskset"]) {
  if (Bun.which(tool) === null) throw new Error(`bench: ${tool} is not installed`);
}
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION_S = Number(process.env.DURATION_S ?? 4);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const DEFAULT_VARIANTS =
  "full=;no rate-limit=BENCH_WITHOUT=rate-limit;no otel=BENCH_WITHOUT=otel;no metrics=BENCH_WITHOUT=metrics;" +
  "no access log=HTTP_ACCESS_LOG=false;http only=BENCH_WITHOUT=otel|metrics|rate-limit,HTTP_ACCESS_LOG=false";

/** `name=A=1,B=2;...` (a `|` in a value stands for a comma, as in BENCH_WITHOUT lists). */
function parseVariants(spec: string): Array<{ name: string; env: Record<string, string> }> {
  return spec
    .split(";")
    .filter((item) => item.trim() !== "")
    .map((item) => {
      const [name = "", ...rest] = item.split("=");
      const env: Record<string, string> = {};
      for (const pair of rest.join("=").split(",").filter(Boolean)) {
        const [key = "", ...value] = pair.split("=");
        env[key] = value.join("=").replaceAll("|", ",");
      }
      return { name: name.trim(), env };
    });
}

const variants = [
  { name: "bare", fixture: "bare.ts", env: {} },
  ...parseVariants(process.env.VARIANTS ?? DEFAULT_VARIANTS).map((v) => ({ ...v, fixture: "full.ts" })),
];
const ticksPerSecond = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim() || 100);

function wrk(port: number, seconds: number): number {
  const run = Bun.spawnSync(
    ["taskset", "-c", "1", "wrk", "-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, `http://127.0.0.1:${port}/bench/json`],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = run.stdout.toString();
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`bench: wrk saw errors:\n${out}`);
  return Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
}

async function measure(variant: (typeof variants)[number]): Promise<number> {
  const port = freePort();
  // exec'd through taskset, so the pid is the server's own.
  const child = Bun.spawn(["taskset", "-c", "0", "bun", `${import.meta.dir}/fixtures/${variant.fixture}`], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: String(port), ...variant.env },
    stdout: "ignore",
    stderr: "inherit",
  });
  try {
    for (let tries = 0; ; tries++) {
      const answer = await fetch(`http://127.0.0.1:${port}/bench/json`).catch(() => undefined);
      if (answer?.ok) break;
      if (tries > 200) throw new Error(`bench: ${variant.name} did not answer within 10 s`);
      await Bun.sleep(50);
    }
    wrk(port, 1); // warm-up: JIT, pools
    const before = cpuTicks(child.pid);
    const requests = wrk(port, DURATION_S);
    const seconds = (cpuTicks(child.pid) - before) / ticksPerSecond;
    return (seconds * 1e6) / requests;
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
}

const results = new Map<string, number[]>();
console.log(`bench/cpu: ${ROUNDS} rounds, wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s on CPU 1, servers on CPU 0`);
for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 === 1 ? variants : [...variants].reverse();
  for (const variant of order) {
    const us = await measure(variant);
    results.set(variant.name, [...(results.get(variant.name) ?? []), us]);
    console.log(`round ${round} ${variant.name.padEnd(16)} ${us.toFixed(2)} µs CPU/request`);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const bare = median(results.get("bare") ?? []);
console.log("\nmedian server CPU per request:");
for (const { name } of variants) {
  const us = median(results.get(name) ?? []);
  const extra = name === "bare" ? "" : `  +${(us - bare).toFixed(2)} µs over bare, ${(us / bare).toFixed(2)}x`;
  console.log(`  ${name.padEnd(16)} ${us.toFixed(2)} µs${extra}`);
}
