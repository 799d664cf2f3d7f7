/**
 * The bundle smoke: each process type's bundle starts, answers its probes (and the image's
 * HEALTHCHECK script passes against it), and drains on SIGTERM with exit 0. `web` is probed on PORT, `worker` and `scheduler` on MANAGEMENT_PORT; `admin` runs
 * its built-in `config` command and exits 0.
 *
 * `bun build/smoke.ts [dist]` after `bun run build` (CI does). Ends with "N passed, N failed".
 * Each process runs on embedded defaults in a scratch folder (no .env file is read), with any
 * variable given in SMOKE_ENV_* passed on without the prefix.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BundleType, bundleTypes } from "./build.ts";

/** Options for {@link smokeBundle}. */
export interface SmokeOptions {
  /** Extra environment (REDIS_URL, OTEL_EXPORTER_OTLP_ENDPOINT...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Arguments before the bundle (`--preload`, a trace recorder). */
  readonly bunArgs?: readonly string[];
  /** Milliseconds the whole run may take (default 30 000). */
  readonly timeoutMs?: number;
  /** Milliseconds to wait for /readyz to answer 200 (default 15 000). */
  readonly readyTimeoutMs?: number;
  /** The paths that must answer 200 (default /livez, /readyz and /health). */
  readonly probes?: readonly string[];
  /** The admin command and its arguments (default: `config`); ignored for the other types. */
  readonly args?: readonly string[];
  /** Paths asked once the probes pass, whatever they answer: work for the process to do (a traced request). */
  readonly requests?: readonly string[];
}

/** What one bundle did. */
export interface SmokeResult {
  readonly type: BundleType;
  /** Empty when every check passed. */
  readonly problems: string[];
  readonly exitCode: number | null;
  /** Its JSON log lines (stdout; an admin process logs to stderr, also read). */
  readonly lines: Array<Record<string, unknown>>;
  /** What it printed that was not a JSON log line (an admin command's output). */
  readonly output: string;
}

const PROBES = ["/livez", "/readyz", "/health"] as const;

/** Reads a stream's lines into `lines` (parsed JSON) and `text` (the rest); calls `onLine` per JSON line. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  lines: Array<Record<string, unknown>>,
  text: string[],
  onLine: (line: Record<string, unknown>) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  const take = (line: string) => {
    try {
      const parsed = JSON.parse(line) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        lines.push(parsed as Record<string, unknown>);
        onLine(parsed as Record<string, unknown>);
        return;
      }
    } catch {
      // Not a log line.
    }
    text.push(line);
  };
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    for (let at = rest.indexOf("\n"); at >= 0; at = rest.indexOf("\n")) {
      take(rest.slice(0, at));
      rest = rest.slice(at + 1);
    }
  }
  if (rest !== "") take(rest);
}

/**
 * Runs one bundle of `dir` and checks it: a long-running type must log its listening port, answer
 * 200 on /livez, /readyz and /health, and exit 0 after SIGTERM; `admin` must exit 0 on `config`.
 *
 * @example
 * ```ts
 * const { problems } = await smokeBundle("dist", "web");
 * if (problems.length > 0) throw new Error(problems.join("; "));
 * ```
 */
export async function smokeBundle(dir: string, type: BundleType, options: SmokeOptions = {}): Promise<SmokeResult> {
  const cwd = mkdtempSync(join(tmpdir(), `twelvefold-smoke-${type}-`));
  const problems: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const text: string[] = [];
  const { promise: listening, resolve: onListening } = Promise.withResolvers<number | undefined>();
  const child = Bun.spawn(
    [
      "bun",
      ...(options.bunArgs ?? []),
      resolve(dir, `${type}.js`),
      ...(type === "admin" ? (options.args ?? ["config"]) : []),
    ],
    {
      cwd,
      env: {
        PATH: Bun.env.PATH ?? "",
        HOME: Bun.env.HOME ?? "",
        ENVIRONMENT: "testing",
        LOG_LEVEL: "info",
        LOG_FORMAT: "json",
        HOST: "127.0.0.1",
        PORT: "0",
        MANAGEMENT_HOST: "127.0.0.1",
        MANAGEMENT_PORT: "0",
        DRAIN_DELAY_MS: "0",
        ...options.env,
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const onLine = (line: Record<string, unknown>) => {
    if (line.message === "listening" || line.message === "management listening") onListening(Number(line.port));
  };
  const reading = Promise.all([
    readLines(child.stdout, lines, text, onLine),
    readLines(child.stderr, lines, text, onLine),
  ]);
  const timeout = setTimeout(() => {
    problems.push(`no exit within ${options.timeoutMs ?? 30_000} ms`);
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 30_000);
  void child.exited.then(() => onListening(undefined));
  try {
    if (type !== "admin") {
      const port = await listening;
      if (port === undefined) problems.push("exited before listening");
      else {
        await probe(port, problems, {
          readyTimeoutMs: options.readyTimeoutMs ?? 15_000,
          probes: options.probes ?? PROBES,
        });
        await healthcheck(dir, port, problems);
        for (const path of options.requests ?? []) await (await fetch(`http://127.0.0.1:${port}${path}`)).arrayBuffer();
      }
      child.kill("SIGTERM");
    }
    const exitCode = await child.exited;
    await reading;
    if (exitCode !== 0) problems.push(`exit code ${exitCode}, expected 0`);
    if (type !== "admin" && !lines.some((l) => l.message === "app stopped")) problems.push('no "app stopped" line');
    return { type, problems, exitCode, lines, output: text.join("\n") };
  } finally {
    clearTimeout(timeout);
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** Waits for /readyz to answer 200 (the app is ready), then checks every probe answers 200. */
async function probe(
  port: number,
  problems: string[],
  { readyTimeoutMs, probes }: { readonly readyTimeoutMs: number; readonly probes: readonly string[] },
): Promise<void> {
  const base = `http://127.0.0.1:${port}`;
  const until = performance.now() + readyTimeoutMs;
  let ready = false;
  while (!ready && performance.now() < until) {
    const response = await fetch(`${base}/readyz`).catch(() => undefined);
    await response?.arrayBuffer();
    ready = response?.status === 200;
    if (!ready) await Bun.sleep(20);
  }
  if (!ready) {
    problems.push(`/readyz not 200 within ${readyTimeoutMs} ms on port ${port}`);
    return;
  }
  for (const path of probes) {
    const response = await fetch(`${base}${path}`);
    await response.arrayBuffer();
    if (response.status !== 200) problems.push(`${path} answered ${response.status}`);
  }
}

/** The image's HEALTHCHECK (dist/healthcheck.js, when built) must pass against the running process. */
async function healthcheck(dir: string, port: number, problems: string[]): Promise<void> {
  const script = resolve(dir, "healthcheck.js");
  if (!(await Bun.file(script).exists())) return;
  const check = Bun.spawn(["bun", script], {
    env: { PATH: Bun.env.PATH ?? "", PORT: String(port), MANAGEMENT_PORT: String(port) },
    stdout: "ignore",
    stderr: "ignore",
  });
  const code = await check.exited;
  if (code !== 0) problems.push(`the HEALTHCHECK (healthcheck.js) exited ${code}`);
}

/** Passed-on variables: SMOKE_ENV_REDIS_URL=... becomes REDIS_URL=... */
export function passedEnv(from: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(from)) {
    if (name.startsWith("SMOKE_ENV_") && value !== undefined) env[name.slice("SMOKE_ENV_".length)] = value;
  }
  return env;
}

if (import.meta.main) {
  const dir = Bun.argv[2] ?? "dist";
  let passed = 0;
  let failed = 0;
  for (const type of bundleTypes) {
    const began = performance.now();
    const result = await smokeBundle(dir, type, { env: passedEnv(Bun.env) });
    const ms = (performance.now() - began).toFixed(0);
    if (result.problems.length === 0) {
      passed++;
      const what = type === "admin" ? "ran `config`, exit 0" : "started, answered its probes, exit 0 after SIGTERM";
      console.log(`ok   ${type}: ${what} (${ms} ms)`);
    } else {
      failed++;
      console.log(`FAIL ${type}: ${result.problems.join("; ")}`);
      for (const line of result.lines.slice(-5)) console.log(`     ${JSON.stringify(line)}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
