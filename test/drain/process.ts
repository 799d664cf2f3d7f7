/** Spawns the drain fixture and reads its JSON log lines. */
import type { Subprocess } from "bun";

export interface Fixture {
  readonly process: Subprocess<"ignore", "pipe", "inherit">;
  readonly port: number;
  readonly lines: Array<Record<string, unknown>>;
  /** Resolves with the exit code once the process has ended and its output is read. */
  readonly exited: Promise<number>;
}

/**
 * How each runtime runs the fixture: Bun directly, Deno with the smoke test's permissions, Node with
 * tsx's loader in the process itself (`node --import tsx`), so the signal the test sends reaches the
 * app. Not the `tsx` command: it is a parent that relays SIGTERM to a node child and, when the child
 * has not acknowledged within 30 ms (a child busy serving 50 connections on a loaded machine), SIGKILLs
 * it and exits 143, which no drain survives.
 */
export const RUNTIME_COMMANDS = {
  bun: ["bun"],
  deno: ["deno", "run", "--allow-read", "--allow-env", "--allow-net=127.0.0.1", "--quiet"],
  node: ["node", `--import=${import.meta.resolve("tsx")}`],
} as const;
export type FixtureRuntime = keyof typeof RUNTIME_COMMANDS;

/** Options for {@link spawnFixture}. */
export interface SpawnOptions {
  readonly runtime?: FixtureRuntime;
  /** The app to run (default: the drain fixture, app.ts beside this file). */
  readonly script?: string;
  /** Arguments after the script (the process type: `web`). */
  readonly args?: readonly string[];
}

export async function spawnFixture(env: Record<string, string>, options: SpawnOptions = {}): Promise<Fixture> {
  const { runtime = "bun", script = `${import.meta.dir}/app.ts`, args = [] } = options;
  const child = Bun.spawn([...RUNTIME_COMMANDS[runtime], script, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ENVIRONMENT: "testing",
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
      PORT: "0",
      HOST: "127.0.0.1",
      HTTP_ACCESS_LOG: "false",
      ...env,
    },
    stdout: "pipe",
    stderr: "inherit",
    stdin: "ignore",
  });
  const lines: Array<Record<string, unknown>> = [];
  const { promise: listening, resolve, reject } = Promise.withResolvers<number>();
  const reading = (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stdout) {
      rest += decoder.decode(chunk, { stream: true });
      let newline = rest.indexOf("\n");
      while (newline >= 0) {
        const line = rest.slice(0, newline);
        rest = rest.slice(newline + 1);
        newline = rest.indexOf("\n");
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          lines.push(parsed);
          if (parsed.message === "listening") resolve(parsed.port as number);
        } catch {
          // Not a log line.
        }
      }
    }
    reject(new Error(`fixture exited before listening: ${JSON.stringify(lines.slice(-3))}`));
  })();
  const exited = child.exited.then(async (code) => {
    await reading;
    return code;
  });
  const port = await listening;
  return { process: child, port, lines, exited };
}
