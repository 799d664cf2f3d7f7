/**
 * PostgreSQL and Redis for the release tests that run what the manifests describe: a database of
 * this run's own on the shared server (twelvefold_release_<pid>), and a Redis key prefix of its own,
 * both removed when the test process exits. Gated like every test that needs a server: skipped
 * locally with a reason when one is missing, a failure under CI=true.
 */
import { requireService } from "../services.ts";

const ADMIN = "postgres://postgres@127.0.0.1:5432/test";
const REDIS = "redis://127.0.0.1:6379";

/** What a process needs to reach the backing services, as the platform's Secret would give it. */
export interface Backing {
  readonly DATABASE_URL: string;
  readonly REDIS_URL: string;
  readonly REDIS_KEY_PREFIX: string;
}

let made: Promise<Backing | undefined> | undefined;

function psql(sql: string): void {
  const run = Bun.spawnSync(["psql", ADMIN, "-qtAc", sql], { stdout: "pipe", stderr: "pipe" });
  if (!run.success) throw new Error(`psql: ${run.stderr.toString().trim()}`);
}

/** The run's database and key prefix, made on first use; `undefined` (skip) locally without the servers. */
export function backing(): Promise<Backing | undefined> {
  made ??= (async () => {
    if (!(await requireService("PostgreSQL", ADMIN)) || !(await requireService("Redis", REDIS))) return undefined;
    const database = `twelvefold_release_${process.pid}`;
    const prefix = `tf-release-${process.pid}:`;
    psql(`DROP DATABASE IF EXISTS ${database}`);
    psql(`CREATE DATABASE ${database}`);
    process.once("exit", () => {
      Bun.spawnSync(["psql", ADMIN, "-qtAc", `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`]);
      const keys = Bun.spawnSync(["redis-cli", "--scan", "--pattern", `${prefix}*`])
        .stdout.toString()
        .split("\n")
        .filter(Boolean);
      for (let i = 0; i < keys.length; i += 500) Bun.spawnSync(["redis-cli", "del", ...keys.slice(i, i + 500)]);
    });
    return {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
      REDIS_URL: REDIS,
      REDIS_KEY_PREFIX: prefix,
    };
  })();
  return made;
}

/** True when the admin bundle of `dir` has the command `name` (`admin help` lists it). */
export function hasAdminCommand(dir: string, name: string): boolean {
  const run = Bun.spawnSync(["bun", `${dir}/admin.js`, "help"], {
    env: { PATH: process.env.PATH ?? "", ENVIRONMENT: "testing", LOG_LEVEL: "silent" },
    stdout: "pipe",
    stderr: "pipe",
  });
  return new RegExp(`^\\s*${name}\\b`, "m").test(run.stdout.toString() + run.stderr.toString());
}
