/** Spawning the fault tests' worker and hammer processes, and reading their JSON lines. */
import type { Subprocess } from "bun";

/** One JSON line a child printed. */
export type Line = Record<string, unknown> & { readonly event?: string; readonly message?: string };

/** A child process whose stdout lines are collected as they come. */
export interface Child {
  readonly process: Subprocess<"ignore", "pipe", "inherit">;
  readonly lines: Line[];
  /** Resolves with the first line (seen or to come) that matches, or rejects after `timeoutMs`. */
  waitFor(match: (line: Line) => boolean, timeoutMs?: number): Promise<Line>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `bun <script>` with `env` over the test's environment. */
export function spawnChild(script: string, env: Record<string, string>): Child {
  const child = Bun.spawn(["bun", new URL(script, import.meta.url).pathname], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of child.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          lines.push(JSON.parse(text) as Line);
        } catch {
          lines.push({ message: text });
        }
        newline = buffer.indexOf("\n");
      }
      for (const wake of [...waiters]) wake();
    }
  })();
  return {
    process: child,
    lines,
    waitFor(match, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(match);
          if (found === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching line from ${script} within ${timeoutMs} ms`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async kill(signal = "SIGTERM") {
      child.kill(signal);
      await child.exited;
    },
  };
}
