import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const fixture = join(import.meta.dir, "testdata", "lifecycle-app.ts");

interface Run {
  readonly lines: Array<Record<string, unknown>>;
  readonly exitCode: number;
}

/**
 * Spawns the fixture app, waits until a log line satisfies `when`, sends the signals,
 * and collects every JSON log line and the exit code.
 */
async function run(
  env: Record<string, string>,
  options: { when?: (line: Record<string, unknown>) => boolean; signals?: NodeJS.Signals[]; command?: string[] } = {},
): Promise<Run> {
  const child = Bun.spawn([...(options.command ?? ["bun"]), fixture], {
    env: { PATH: process.env.PATH ?? "", ENVIRONMENT: "testing", LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  const lines: Array<Record<string, unknown>> = [];
  let signalled = false;
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
      buffered = buffered.slice(newline + 1);
      lines.push(line);
      if (!signalled && options.when?.(line)) {
        signalled = true;
        for (const signal of options.signals ?? ["SIGTERM"]) {
          child.kill(signal);
          await Bun.sleep(50);
        }
      }
      newline = buffered.indexOf("\n");
    }
  }
  return { lines, exitCode: await child.exited };
}

const ready = (line: Record<string, unknown>) => line.message === "app ready";
const messages = (r: Run) => r.lines.map((l) => l.message);

describe("run() in a real process", () => {
  test("SIGTERM drains, stops plugins in reverse and exits 0", async () => {
    const result = await run({}, { when: ready });
    expect(result.exitCode).toBe(0);
    const m = messages(result);
    expect(m.slice(m.indexOf("app ready"))).toEqual([
      "app ready",
      "shutdown signal received",
      "draining",
      "fixture stopped",
      "other stopped",
      "app stopped",
    ]);
    expect(result.lines.find((l) => l.message === "shutdown signal received")?.signal).toBe("SIGTERM");
  });

  test("under Node, an app with nothing scheduled still waits for the signal and drains", async () => {
    // tsx's loader in the node process itself: the `tsx` command relays signals to a node child and
    // SIGKILLs it when it has not acknowledged one within 30 ms, which a loaded machine can miss.
    const result = await run({}, { when: ready, command: ["node", `--import=${import.meta.resolve("tsx")}`] });
    expect(result.exitCode).toBe(0);
    expect(messages(result).slice(-2)).toEqual(["other stopped", "app stopped"]);
  });

  test("SIGINT does the same", async () => {
    const result = await run({}, { when: ready, signals: ["SIGINT"] });
    expect(result.exitCode).toBe(0);
    expect(messages(result)).toContain("app stopped");
  });

  test("a config error exits 78 with every problem in one line", async () => {
    const result = await run({ FIXTURE_WORKERS: "zero", FIXTURE_MODE: "sometimes" });
    expect(result.exitCode).toBe(78);
    const line = result.lines.find((l) => Array.isArray(l.issues));
    expect(((line?.issues ?? []) as Array<{ name: string }>).map((i) => i.name).sort()).toEqual([
      "FIXTURE_MODE",
      "FIXTURE_WORKERS",
    ]);
    expect(messages(result)).not.toContain("app ready");
  });

  test("a failing start stops what started and exits 1", async () => {
    const result = await run({ FIXTURE_MODE: "fail-start" });
    expect(result.exitCode).toBe(1);
    const failed = result.lines.find((l) => l.message === "app failed to start");
    expect((failed?.error as { message?: string } | undefined)?.message).toBe(
      "fixture: start failed: cannot reach the model provider",
    );
    expect(messages(result)).toContain("other stopped");
  });

  test("a stuck stop hook is named and the exit code is 1", async () => {
    const result = await run({ FIXTURE_MODE: "stuck-stop" }, { when: ready });
    expect(result.exitCode).toBe(1);
    expect(result.lines.find((l) => l.message === "plugin stop timed out")?.plugin).toBe("fixture");
    expect(messages(result)).toContain("other stopped");
  });

  test("a second signal during the drain forces exit 1", async () => {
    const result = await run({ FIXTURE_MODE: "slow-drain" }, { when: ready, signals: ["SIGTERM", "SIGTERM"] });
    expect(result.exitCode).toBe(1);
    expect(messages(result)).toContain("second signal: exiting without finishing the drain");
    expect(messages(result)).not.toContain("app stopped");
  });

  test("an uncaught exception is logged and starts an orderly shutdown with exit 1", async () => {
    const result = await run({ FIXTURE_MODE: "throw-later" });
    expect(result.exitCode).toBe(1);
    const fatal = result.lines.find((l) => l.message === "uncaught exception");
    expect((fatal?.error as { message?: string } | undefined)?.message).toBe("boom after ready");
    expect(messages(result).slice(-3)).toEqual(["fixture stopped", "other stopped", "app stopped"]);
  });

  test("an unhandled rejection does the same", async () => {
    const result = await run({ FIXTURE_MODE: "reject-later" });
    expect(result.exitCode).toBe(1);
    expect(messages(result)).toContain("unhandled rejection");
    expect(messages(result)).toContain("app stopped");
  });

  test("SIGTERM during start stops what started and exits 0 without becoming ready", async () => {
    const result = await run({ FIXTURE_MODE: "slow-start" }, { when: (l) => l.message === "fixture starting slowly" });
    expect(result.exitCode).toBe(0);
    expect(messages(result)).toContain("other stopped");
    expect(messages(result)).not.toContain("app ready");
  });
});
