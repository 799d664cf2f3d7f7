/**
 * The app as real processes, for the end-to-end tests: `bun apps/agent/src/main.ts <type>` with an
 * environment of the test's own, the JSON log read for the bound URL, and a stop that sends SIGTERM
 * once and waits for the exit code (a second signal would force the exit).
 */
import type { Subprocess } from "bun";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** A running process of the app. */
export interface AgentProcess {
  readonly type: string;
  /** The URL it serves (web, dev: PORT; worker, scheduler: MANAGEMENT_PORT). */
  readonly url: string;
  readonly child: Subprocess<"ignore", "pipe", "pipe">;
  /** Every log line so far, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
}

/** Starts `main.ts <type>` and resolves once it serves 200 on /readyz. */
export async function startProcess(
  type: "web" | "worker" | "scheduler" | "dev",
  env: Record<string, string | undefined>,
  options: { readonly readyTimeoutMs?: number } = {},
): Promise<AgentProcess> {
  // The same bun that runs the tests, by its path: the child needs no PATH, and gets only this env.
  const child = Bun.spawn([process.execPath, MAIN, type], {
    env: {
      HOST: "127.0.0.1",
      PORT: "0",
      MANAGEMENT_HOST: "127.0.0.1",
      MANAGEMENT_PORT: "0",
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: Array<Record<string, unknown>> = [];
  const { promise: listening, resolve, reject } = Promise.withResolvers<string>();
  const lines = child.stdout.pipeThrough(new TextDecoderStream());
  void (async () => {
    let buffer = "";
    for await (const chunk of lines) {
      buffer += chunk;
      for (let at = buffer.indexOf("\n"); at >= 0; at = buffer.indexOf("\n")) {
        const text = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        try {
          const line = JSON.parse(text) as Record<string, unknown>;
          logs.push(line);
          if (line.message === "listening" || line.message === "management listening") resolve(String(line.url));
        } catch {
          logs.push({ message: text });
        }
      }
    }
    reject(new Error(`agent ${type} exited before listening: ${await new Response(child.stderr).text()}`));
  })();
  const url = await listening;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 150_000);
  for (;;) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`agent ${type} was not ready at ${url}/readyz in time`);
    await Bun.sleep(50);
  }
  return {
    type,
    url,
    child,
    logs,
    async stop() {
      child.kill("SIGTERM");
      return await child.exited;
    },
  };
}
