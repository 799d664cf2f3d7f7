/**
 * Observability overhead: requests per second of the same app with tracing, logging and metrics
 * on (a span per request at 100% sampling, a JSON access-log line, RED metrics) against off,
 * under `wrk -t2 -c50`. Runs alternate off/on so drift on a shared machine hits both alike; the
 * median of each is reported with the ratio. Bounded: ROUNDS x 2 runs of DURATION_S seconds plus
 * a short warm-up each (defaults: 2 rounds of 5 s, about 30 s in all).
 *
 * `bun bench/observability.ts` (needs `wrk`; apt-get install -y wrk)
 */
// The full-stack fixture with the rate limiter left out and the observability pieces switched on or off.
const fixture = new URL("./fixtures/full.ts", import.meta.url).pathname;

/** The fixture's environment for a mode: `on`, `off`, or a comma-separated subset of tracing, logging, metrics. */
function modeEnv(mode: string): Record<string, string> {
  const parts = new Set(mode === "on" ? ["tracing", "logging", "metrics"] : mode.split(","));
  const without = [
    "rate-limit",
    ...(parts.has("tracing") ? [] : ["otel"]),
    ...(parts.has("metrics") ? [] : ["metrics"]),
  ];
  return { BENCH_WITHOUT: without.join(","), HTTP_ACCESS_LOG: parts.has("logging") ? "true" : "false" };
}
const rounds = Number(Bun.env.ROUNDS ?? "2");
const duration = Number(Bun.env.DURATION_S ?? "5");
const wrk = Bun.which("wrk");
if (!wrk) throw new Error("observability bench: wrk is not installed (apt-get install -y wrk)");

async function waitReady(port: number, child: Bun.Subprocess): Promise<number> {
  const began = performance.now();
  for (let i = 0; i < 500; i++) {
    if (child.exitCode !== null) throw new Error(`fixture exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return performance.now() - began;
    await Bun.sleep(10);
  }
  throw new Error("fixture did not become ready within 5 s");
}

async function load(port: number, seconds: number): Promise<number> {
  const child = Bun.spawn([wrk as string, "-t2", "-c50", `-d${seconds}s`, `http://127.0.0.1:${port}/bench/json`], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = await new Response(child.stdout).text();
  await child.exited;
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1];
  if (!rps) throw new Error(`could not read wrk output:\n${output}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1];
  if (non2xx) throw new Error(`${non2xx} requests failed: the comparison would be meaningless`);
  return Number(rps);
}

async function run(mode: string): Promise<{ rps: number; readyMs: number }> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = Bun.spawn(["bun", fixture], {
    env: { ...Bun.env, ...modeEnv(mode), PORT: String(port), HOST: "127.0.0.1" },
    stdout: "ignore",
    stderr: "inherit",
  });
  try {
    const readyMs = await waitReady(port, child);
    await load(port, 1);
    return { rps: await load(port, duration), readyMs };
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
}

// MODES=off,on by default; MODES=off,tracing,logging,metrics,on shows what each piece costs.
const modes = (Bun.env.MODES ?? "off,on").split(",");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const results = new Map<string, number[]>(modes.map((m) => [m, []]));
for (let round = 0; round < rounds; round++) {
  for (const mode of modes) {
    const { rps, readyMs } = await run(mode);
    results.get(mode)?.push(rps);
    console.log(
      `round ${round + 1} ${mode.padEnd(8)} ${rps.toFixed(0).padStart(7)} req/s  (ready in ${readyMs.toFixed(0)} ms)`,
    );
  }
}
const off = median(results.get("off") ?? [Number.NaN]);
const summary: Record<string, number> = {};
for (const [mode, values] of results) {
  summary[`${mode}_rps`] = Math.round(median(values));
  if (mode !== "off") summary[`${mode}_ratio`] = Number((median(values) / off).toFixed(3));
}
console.log(JSON.stringify({ bench: "observability", rounds, duration_s: duration, ...summary }));
