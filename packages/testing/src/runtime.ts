import type { Runtime, ShutdownSignal } from "@twelvefold/kernel";

/** A runtime driven by a test; see {@link fakeRuntime}. */
export interface FakeRuntime {
  readonly runtime: Runtime;
  /** Lines written to stdout: an admin command's output, or log lines outside admin. */
  readonly stdout: string[];
  /** Lines written to stderr. */
  readonly stderr: string[];
  /** stderr lines that are JSON log lines, parsed. */
  readonly logs: () => Array<Record<string, unknown>>;
  /** Resolves with the code the app exited with (`runtime.exit` records it and returns). */
  readonly exited: Promise<number>;
  /** Delivers SIGTERM or SIGINT to the app's handler. */
  signal(name: ShutdownSignal): void;
  /** Reports an uncaught exception to the app's handler. */
  fatal(error: unknown): void;
}

/**
 * A runtime whose environment, command line, signals, fatal errors, output and exit a test
 * drives, to prove what `app.run()` does as a process (an admin command's exit code, its stdout
 * and stderr) without spawning one. It serves no HTTP.
 *
 * @example
 * ```ts
 * import { fakeRuntime } from "@twelvefold/testing";
 * const fake = fakeRuntime({ ENVIRONMENT: "testing" }, ["admin", "migrate", "--status"]);
 * void createApp({ name: "agent", plugins: [postgres()], runtime: fake.runtime }).run();
 * expect(await fake.exited).toBe(0);
 * expect(fake.stdout.join("\n")).toContain("pending");
 * ```
 */
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

/** How the app answered one request over the socket: a Response at once, or a promise of one. */
export type AnswerKind = "response" | "promise";

/** A runtime whose HTTP answers are watched; see {@link watchedRuntime}. */
export interface WatchedRuntime {
  readonly runtime: Runtime;
  /** One entry per request served, in order. */
  readonly answers: AnswerKind[];
}

/**
 * `base` with its HTTP server's handler watched: for each request over the socket, whether the
 * app handed the runtime a Response or a promise of one. A route and middleware that answer at
 * once keep the whole request synchronous, with no microtask turn on the hot path; this proves a
 * middleware of yours keeps it so.
 *
 * @example
 * ```ts
 * import { bunRuntime } from "@twelvefold/kernel/runtime";
 * import { testApp, watchedRuntime } from "@twelvefold/testing";
 * const { runtime, answers } = watchedRuntime(bunRuntime());
 * await using t = await testApp({ plugins: [http(), myLimiter()], runtime });
 * await t.request("/hello");
 * expect(answers.at(-1)).toBe("response");
 * ```
 */
export function watchedRuntime(base: Runtime): WatchedRuntime {
  const answers: AnswerKind[] = [];
  const runtime: Runtime = {
    ...base,
    serve: (options) =>
      base.serve({
        ...options,
        fetch(request, info) {
          const answer = options.fetch(request, info);
          answers.push(answer instanceof Promise ? "promise" : "response");
          return answer;
        },
      }),
  };
  return { runtime, answers };
}
