/**
 * WORKERS: one process type run as N copies of itself on one port, so one container uses all its
 * cores. The process that was started becomes the supervisor: it starts no plugin and serves
 * nothing; it starts the copies, restarts one that dies, and on SIGTERM or SIGINT hands every copy
 * a SIGTERM, so they drain together, each with the zero-loss drain of a single process, and exits
 * once the last one has: 0 when every copy exited 0, else 1.
 */
import { ExitCode } from "./errors.ts";
import type { KernelLogger } from "./logger.ts";
import { COPY_ENV } from "./run.ts";
import type { CopyProcess, ProcessCopies, Runtime } from "./runtime/types.ts";

export { COPY_ENV };

/** Options for {@link superviseCopies}. */
export interface SuperviseOptions {
  readonly count: number;
  readonly copies: ProcessCopies;
  readonly runtime: Runtime;
  readonly logger: KernelLogger;
  /** First delay before a restart; doubles for each copy that dies young, up to {@link maxRestartDelayMs}. */
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  /** A copy that lived this long resets the delay (10 000 ms). */
  readonly stableAfterMs?: number;
}

interface Slot {
  readonly index: number;
  process: CopyProcess | undefined;
  startedAt: number;
  /** Restarts since the copy last ran for stableAfterMs. */
  failures: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Runs `count` copies of this process until a shutdown signal, then drains them as one and exits.
 * A copy that exits on its own is restarted after a delay that grows while copies keep dying young;
 * one that exits 78 (invalid config) stops them all with 78, since a restart cannot mend it.
 */
export function superviseCopies(options: SuperviseOptions): Promise<never> {
  const { count, copies, runtime, logger } = options;
  const firstDelay = options.restartDelayMs ?? 100;
  const maxDelay = options.maxRestartDelayMs ?? 30_000;
  const stableAfter = options.stableAfterMs ?? 10_000;
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({
    index,
    process: undefined,
    startedAt: 0,
    failures: 0,
    timer: undefined,
  }));
  let stopping = false;
  let exitCode: number = ExitCode.ok;
  let signals = 0;
  // Not Promise.withResolvers: Node 20 has none.
  let onAllExited = () => {};
  const allExited = new Promise<void>((resolve) => {
    onAllExited = resolve;
  });

  const live = () => slots.filter((s) => s.process !== undefined);
  const checkDone = () => {
    if (stopping && live().length === 0) onAllExited();
  };

  const start = async (slot: Slot): Promise<void> => {
    slot.timer = undefined;
    if (stopping) return checkDone();
    const child = await copies.fork({ [COPY_ENV]: String(slot.index) });
    slot.process = child;
    slot.startedAt = runtime.now();
    logger.info("copy started", { copy: slot.index, pid: child.pid });
    if (stopping) child.kill("SIGTERM");
    void child.exited.then((result) => exited(slot, child, result));
  };

  const exited = (slot: Slot, child: CopyProcess, result: { code: number | null; signal: string | null }) => {
    slot.process = undefined;
    const fields = { copy: slot.index, pid: child.pid, code: result.code, signal: result.signal };
    if (stopping) {
      if (result.code !== 0) exitCode = ExitCode.failure;
      logger.info("copy stopped", fields);
      return checkDone();
    }
    if (result.code === ExitCode.config) {
      logger.error("copy exited on invalid config: stopping every copy", fields);
      exitCode = ExitCode.config;
      return shutdown();
    }
    if (runtime.now() - slot.startedAt >= stableAfter) slot.failures = 0;
    const delay = Math.min(maxDelay, firstDelay * 2 ** slot.failures);
    slot.failures++;
    logger.error("copy exited: restarting it", { ...fields, restart_in_ms: delay });
    slot.timer = setTimeout(() => void start(slot).catch(failedFork), delay);
  };

  const failedFork = (error: unknown) => {
    logger.error("cannot start a copy: stopping every copy", { error });
    exitCode = ExitCode.failure;
    shutdown();
  };

  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    for (const slot of slots) {
      if (slot.timer !== undefined) clearTimeout(slot.timer);
      slot.timer = undefined;
    }
    logger.info("stopping copies", { copies: live().length });
    for (const slot of live()) slot.process?.kill("SIGTERM");
    checkDone();
  };

  const onSignal = (signal: string) => () => {
    signals++;
    if (signals > 1) {
      // Each copy takes a second SIGTERM as the order to exit without finishing its drain.
      logger.error("second signal: copies exit without finishing the drain", { signal });
      exitCode = ExitCode.failure;
      for (const slot of live()) slot.process?.kill("SIGTERM");
      return;
    }
    logger.info("shutdown signal received", { signal });
    shutdown();
  };
  runtime.onSignal("SIGTERM", onSignal("SIGTERM"));
  runtime.onSignal("SIGINT", onSignal("SIGINT"));
  runtime.onFatal((error, kind) => {
    logger.error(kind === "uncaughtException" ? "uncaught exception" : "unhandled rejection", { error });
    exitCode = ExitCode.failure;
    shutdown();
  });

  logger.info("supervising copies", { copies: count });
  for (const slot of slots) void start(slot).catch(failedFork);
  return allExited.then(() => {
    clearInterval(keepAlive);
    logger.info("copies stopped", { code: exitCode });
    return runtime.exit(exitCode);
  });
}
