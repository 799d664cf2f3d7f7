/** Spawns the process-type fixture as a real process and follows its JSON log lines. */
import type { Subprocess } from "bun";

export type Line = Record<string, unknown> & { message: string; level: string };

export interface Fixture {
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  /** Every JSON log line so far (stdout outside admin, stderr in admin). */
  readonly lines: Line[];
  /** stdout lines that are not JSON: an admin command's output. */
  readonly output: string[];
  /** stderr lines that are not JSON: usage and unknown-command messages. */
  readonly errors: string[];
  /** Resolves with the first line matching `match`, waiting for it (rejects if the process ends first). */
  waitFor(match: (line: Line) => boolean, what: string): Promise<Line>;
  /** Resolves with the exit code once the process has ended and its output is read. */
  readonly exited: Promise<number>;
}

const FIXTURE = `${import.meta.dir}/app.ts`;

/** Generous: the suites of several helpers share two cores; it only bounds a hung test. */
const WAIT_MS = 30_000;

export function spawnFixture(args: string[], env: Record<string, string> = {}): Fixture {
  const child = Bun.spawn(["bun", FIXTURE, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ENVIRONMENT: "testing",
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
      PORT: "0",
      HOST: "127.0.0.1",
      MANAGEMENT_PORT: "0",
      MANAGEMENT_HOST: "127.0.0.1",
      HTTP_ACCESS_LOG: "false",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: Line[] = [];
  const output: string[] = [];
  const errors: string[] = [];
  const waiters = new Set<{ match: (line: Line) => boolean; resolve: (line: Line) => void }>();
  let ended = false;
  const endWaiters = new Set<() => void>();
  const follow = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      for (let newline = rest.indexOf("\n"); newline >= 0; newline = rest.indexOf("\n")) {
        const text = rest.slice(0, newline);
        rest = rest.slice(newline + 1);
        let line: Line | undefined;
        try {
          const parsed = JSON.parse(text) as unknown;
          if (typeof parsed === "object" && parsed !== null && "message" in parsed) line = parsed as Line;
        } catch {}
        if (line === undefined) {
          (stream === child.stdout ? output : errors).push(text);
          continue;
        }
        lines.push(line);
        for (const waiter of waiters) {
          if (waiter.match(line)) {
            waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      }
    }
  };
  const reading = Promise.all([follow(child.stdout), follow(child.stderr)]);
  const exited = child.exited.then(async (code) => {
    await reading;
    ended = true;
    for (const end of endWaiters) end();
    return code;
  });
  return {
    process: child,
    lines,
    output,
    errors,
    exited,
    waitFor(match, what) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise<Line>((resolve, reject) => {
        const fail = (reason: string) => {
          waiters.delete(waiter);
          endWaiters.delete(onEnd);
          clearTimeout(timer);
          reject(new Error(`${reason} waiting for ${what}; last lines: ${JSON.stringify(lines.slice(-5))}`));
        };
        const onEnd = () => fail("the fixture exited");
        const timer = setTimeout(() => fail("timed out"), WAIT_MS);
        const waiter = {
          match,
          resolve: (line: Line) => {
            clearTimeout(timer);
            endWaiters.delete(onEnd);
            resolve(line);
          },
        };
        if (ended) return onEnd();
        waiters.add(waiter);
        endWaiters.add(onEnd);
      });
    },
  };
}

/** The message of a line, for `waitFor`. */
export const message = (text: string) => (line: Line) => line.message === text;
