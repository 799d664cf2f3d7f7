/** Spawns processes of the durability app (process.ts) and reads their JSON log lines. */
import type { Subprocess } from "bun";

export interface Spawned {
  readonly child: Subprocess<"ignore", "pipe", "inherit">;
  readonly lines: Array<Record<string, unknown>>;
  /** The web process's port, once it listens. */
  readonly port: number;
  readonly exited: Promise<number>;
  /** Resolves with the first line `match` holds for (waiting for it if need be). */
  line(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Starts `bun process.ts <role>` and resolves once it is ready (listening, or subscribed). */
export async function spawnApp(role: "web" | "worker", env: Record<string, string>): Promise<Spawned> {
  const child = Bun.spawn(["bun", `${import.meta.dir}/process.ts`, role], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ENVIRONMENT: "testing",
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
      PORT: "0",
      HOST: "127.0.0.1",
      HTTP_ACCESS_LOG: "false",
      SECRET_KEY: "durability-secret-durability-secret-!",
      ...env,
    },
    stdout: "pipe",
    stderr: "inherit",
    stdin: "ignore",
  });
  const lines: Array<Record<string, unknown>> = [];
  const listeners = new Set<() => void>();
  const reading = (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stdout) {
      rest += decoder.decode(chunk, { stream: true });
      let newline = rest.indexOf("\n");
      while (newline >= 0) {
        const text = rest.slice(0, newline);
        rest = rest.slice(newline + 1);
        newline = rest.indexOf("\n");
        try {
          lines.push(JSON.parse(text) as Record<string, unknown>);
        } catch {
          lines.push({ message: text });
        }
        for (const listener of listeners) listener();
      }
    }
  })();
  const line = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (found === undefined) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no log line came that the test waited for in ${timeoutMs} ms (pid ${child.pid})`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  const exited = (async () => {
    const code = await child.exited;
    await reading;
    return code;
  })();
  const ready = await line((l) => l.message === "app ready", 30_000);
  void ready;
  const listening = lines.find((l) => l.message === "listening");
  return { child, lines, port: (listening?.port as number | undefined) ?? 0, exited, line };
}
