/**
 * The sample agent's start-up budgets, side by side with bare Bun + Hono in the same run:
 *
 * - `web` from source (`bun apps/agent/src/main.ts web`), spawn to the first 200 on /readyz, on
 *   PostgreSQL (a fresh database, migrated once before, dropped after), then on PostgreSQL and
 *   Redis: at most 3x bare's cold start;
 * - `dev` on a persisted PGlite (a data folder initialised once, untimed), spawn to the first 200
 *   on /readyz: at most 1.5 s.
 *
 * The web process type's bytecode bundle (what a release runs, build/build.ts) is measured beside
 * them for comparison, and so is the floor from source (bench/fixtures/floor.ts: Hono plus
 * postgres.js with drizzle making one round trip, plus node-redis answering PING in the Redis
 * variant, none of the kernel): what no app on these drivers can beat. Rounds alternate which goes
 * first. `bun bench/app.ts`. Environment: ROUNDS (5), COLD_RUNS (5),
 * DATABASE (postgres://postgres@127.0.0.1:5432/test, where the bench's own database is made),
 * REDIS_URL (redis://127.0.0.1:6379; a key prefix of its own).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL, type Subprocess } from "bun";
import { buildBundles } from "../build/build.ts";
import { freePort } from "./measure.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const COLD_RUNS = Number(process.env.COLD_RUNS ?? 5);
const ADMIN_URL = process.env.DATABASE ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const root = join(import.meta.dir, "..");
const main = join(root, "apps", "agent", "src", "main.ts");
const bare = join(import.meta.dir, "fixtures", "bare.ts");
const floor = join(import.meta.dir, "fixtures", "floor.ts");

const run = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
const dbName = `tf_bench_app_${run}`;
const databaseUrl = new URL(ADMIN_URL);
databaseUrl.pathname = `/${dbName}`;
const scratch = mkdtempSync(join(tmpdir(), "bench-app-"));
const pglite = join(scratch, "pglite");
// For comparison, what a release runs: the web process type's bytecode bundle (build/build.ts).
await buildBundles({ outdir: join(scratch, "dist") });

const common = {
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  HOST: "127.0.0.1",
  LOG_LEVEL: "warn",
  LOG_FORMAT: "json",
  HTTP_ACCESS_LOG: "false",
};
const onPostgres = {
  ...common,
  ENVIRONMENT: "staging",
  SECRET_KEY: "bench-secret-bench-secret-bench-secret",
  DATABASE_URL: databaseUrl.toString(),
  LLM_PROVIDER: "local",
};
const variants = {
  bare: { argv: [bare], env: common },
  "floor on PostgreSQL": { argv: [floor], env: onPostgres },
  "floor on PostgreSQL and Redis": { argv: [floor], env: { ...onPostgres, REDIS_URL } },
  "web on PostgreSQL": { argv: [main, "web"], env: onPostgres },
  "web on PostgreSQL and Redis": {
    argv: [main, "web"],
    env: { ...onPostgres, REDIS_URL, REDIS_KEY_PREFIX: `bench-app-${run}:` },
  },
  "web bundle on PostgreSQL": { argv: [join(scratch, "dist", "web.js")], env: onPostgres },
  "dev on a persisted PGlite": { argv: [main, "dev"], env: { ...common, PGLITE_DATA_DIR: pglite } },
} as const;
type Name = keyof typeof variants;

async function stop(child: Subprocess): Promise<void> {
  child.kill("SIGTERM");
  const exited = await Promise.race([child.exited, Bun.sleep(10_000).then(() => undefined)]);
  if (exited === undefined) child.kill("SIGKILL");
}

/** Milliseconds from spawn to the first 200 on /readyz. */
async function coldStart(name: Name): Promise<number> {
  const port = freePort();
  const { argv, env } = variants[name];
  const began = performance.now();
  const child = Bun.spawn(["bun", ...argv], {
    env: { ...env, PORT: String(port) },
    stdout: "ignore",
    stderr: "inherit",
    stdin: "ignore",
  });
  const url = `http://127.0.0.1:${port}/readyz`;
  try {
    for (;;) {
      const ok = await fetch(url).then(
        async (r) => {
          await r.arrayBuffer();
          return r.status === 200;
        },
        () => false,
      );
      if (ok) return performance.now() - began;
      if (performance.now() - began > 30_000) throw new Error(`bench: ${name}: no 200 on ${url} within 30 s`);
      await Bun.sleep(1);
    }
  } finally {
    await stop(child);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const sql = new SQL(ADMIN_URL);
await sql.unsafe(`create database "${dbName}"`);
try {
  const migrate = Bun.spawnSync(["bun", main, "admin", "migrate"], { env: onPostgres, stdout: "pipe", stderr: "pipe" });
  if (migrate.exitCode !== 0) throw new Error(`bench: admin migrate failed: ${migrate.stderr.toString()}`);
  // The first start in an empty folder runs initdb (seconds): it is set up once, not timed.
  await coldStart("dev on a persisted PGlite");

  const names = Object.keys(variants) as Name[];
  const results = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;
  const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
  console.log(`bench app: ${ROUNDS} rounds x ${COLD_RUNS} cold starts each, alternating; load average ${load}`);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      for (let i = 0; i < COLD_RUNS; i++) results[name].push(await coldStart(name));
    }
    console.log(
      `round ${round + 1}  ${names.map((n) => `${n} ${median(results[n].slice(-COLD_RUNS)).toFixed(1)} ms`).join("  ")}`,
    );
  }
  const baseline = median(results.bare);
  const verdict = (ok: boolean) => (ok ? "ok" : "OVER BUDGET");
  console.log("");
  console.log(`bare Bun + Hono: cold start median ${baseline.toFixed(1)} ms`);
  for (const on of ["PostgreSQL", "PostgreSQL and Redis"] as const) {
    const it = median(results[`web on ${on}`]);
    const ratio = it / baseline;
    const under = median(results[`floor on ${on}`]);
    console.log(
      `web on ${on}, from source: ${it.toFixed(1)} ms, ${ratio.toFixed(2)}x  (<= 3x) ${verdict(ratio <= 3)}; its floor ${under.toFixed(1)} ms, ${(under / baseline).toFixed(2)}x, so ${(it / under).toFixed(2)}x the floor`,
    );
  }
  const bundle = median(results["web bundle on PostgreSQL"]);
  console.log(`web bundle on PostgreSQL (for comparison): ${bundle.toFixed(1)} ms, ${(bundle / baseline).toFixed(2)}x`);
  const dev = median(results["dev on a persisted PGlite"]);
  console.log(
    `dev on a persisted PGlite: ${dev.toFixed(1)} ms, ${(dev / baseline).toFixed(1)}x bare  (<= 1500 ms) ${verdict(dev <= 1500)}`,
  );
  console.log(`load average after: ${(await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ")}`);
} finally {
  await sql.unsafe(`drop database if exists "${dbName}" with (force)`);
  await sql.close();
  Bun.spawnSync([
    "sh",
    "-c",
    `redis-cli -u ${REDIS_URL} --scan --pattern 'bench-app-${run}:*' | xargs -r redis-cli -u ${REDIS_URL} del`,
  ]);
  rmSync(scratch, { recursive: true, force: true });
}
