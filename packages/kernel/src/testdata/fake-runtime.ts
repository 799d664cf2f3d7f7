/** A runtime whose arguments, signals, fatal errors, output and exit are driven by a test. */
import type { Runtime, ShutdownSignal } from "../runtime/types.ts";

export interface FakeRuntime {
  readonly runtime: Runtime;
  /** Parsed JSON lines and plain text lines written to stdout. */
  readonly stdout: string[];
  /** Lines written to stderr. */
  readonly stderr: string[];
  /** stderr lines that are JSON log lines, parsed. */
  readonly logs: () => Array<Record<string, unknown>>;
  readonly exited: Promise<number>;
  signal(name: ShutdownSignal): void;
  fatal(error: unknown): void;
}

export function fakeRuntime(env: Record<string, string>, args: readonly string[] = []): FakeRuntime {
  const signals = new Map<ShutdownSignal, () => void>();
  let fatal: ((error: unknown, kind: "uncaughtException" | "unhandledRejection") => void) | undefined;
  const { promise: exited, resolve: resolveExit } = Promise.withResolvers<number>();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const parse = (lines: string[]) =>
    lines.flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as unknown;
        return typeof parsed === "object" && parsed !== null ? [parsed as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  const runtime: Runtime = {
    name: "fake",
    env: () => env,
    args: () => args,
    readTextFile: async () => undefined,
    onSignal(signal, handler) {
      signals.set(signal, handler);
      return () => signals.delete(signal);
    },
    onFatal(handler) {
      fatal = handler;
      return () => {};
    },
    exit(code) {
      resolveExit(code);
      return undefined as never;
    },
    now: () => performance.now(),
    writeLine(line) {
      stdout.push(line);
      return true;
    },
    writeErrorLine(line) {
      stderr.push(line);
    },
    serve: () => Promise.reject(new Error("not used")),
  };
  return {
    runtime,
    stdout,
    stderr,
    logs: () => [...parse(stderr), ...parse(stdout)],
    exited,
    signal: (name) => signals.get(name)?.(),
    fatal: (error) => fatal?.(error, "uncaughtException"),
  };
}
