import cluster from "node:cluster";
import type { CopyProcess } from "./types.ts";

/**
 * Node: each copy is a cluster worker. Node has no reusePort before 22.12; a worker's listen shares
 * the primary's socket instead, and the primary hands connections round-robin to the workers.
 * Loaded only when a Node process starts copies (WORKERS above 1).
 */
export function forkClusterWorker(env: Readonly<Record<string, string>>): CopyProcess {
  const worker = cluster.fork(env);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    worker.once("exit", (code, signal) => resolve({ code: signal ? null : code, signal: signal || null }));
  });
  return { pid: worker.process.pid, exited, kill: (signal) => worker.process.kill(signal) };
}
