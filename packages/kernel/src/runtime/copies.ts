import type { CopyProcess, ProcessCopies } from "./types.ts";

/** Options for {@link watchParent}. */
export interface WatchParentOptions {
  /** Reads the parent's pid (default: `process.ppid`). */
  readonly ppid?: () => number;
  /** How often to look (default 500 ms). */
  readonly pollMs?: number;
}

/**
 * Calls `handler` once the parent has gone, seen through `process.ppid`, which Bun and Node update
 * when the parent dies and the process is handed to init or a subreaper: a copy whose supervisor was
 * killed outright (SIGKILL, a crash) then drains and exits instead of holding the port for ever.
 */
export function watchParent(handler: () => void, options: WatchParentOptions = {}): () => void {
  const ppid = options.ppid ?? (() => process.ppid);
  const parent = ppid();
  const timer = setInterval(() => {
    if (ppid() === parent) return;
    clearInterval(timer);
    handler();
  }, options.pollMs ?? 500);
  timer.unref?.();
  return () => clearInterval(timer);
}

/** This process's command line, to start it again. */
const ownCommand = () => [process.execPath, ...process.execArgv, ...process.argv.slice(1)];

/**
 * Bun: each copy is the same command line spawned again (`command`, by default this process's),
 * its output on this process's stdout and stderr; its servers join the port with reusePort.
 */
export function bunCopies(command: () => string[] = ownCommand): ProcessCopies {
  return {
    async fork(env): Promise<CopyProcess> {
      const child = Bun.spawn(command(), {
        env: { ...process.env, ...env },
        stdin: "ignore",
        stdout: "inherit",
        stderr: "inherit",
      });
      return {
        pid: child.pid,
        exited: child.exited.then(() => {
          const signal = child.signalCode === null ? null : String(child.signalCode);
          return { code: signal === null ? child.exitCode : null, signal };
        }),
        kill: (signal) => child.kill(signal),
      };
    },
    onParentGone: (handler) => watchParent(handler),
  };
}

/** Node: each copy is a cluster worker (copies-node.ts, loaded only when a copy is started). */
export function nodeCopies(): ProcessCopies {
  return {
    async fork(env) {
      const { forkClusterWorker } = await import("./copies-node.ts");
      return forkClusterWorker(env);
    },
    onParentGone: (handler) => watchParent(handler),
  };
}
