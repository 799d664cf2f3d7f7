import { ConfigError, ExitCode } from "./errors.ts";
import type { KernelLogger } from "./logger.ts";
import type { Runtime, ShutdownSignal } from "./runtime/types.ts";

/** The variable a copy of a process run with WORKERS finds its index in; the supervisor sets it. */
export const COPY_ENV = "TWELVEFOLD_COPY";

/** What {@link runApp} drives. */
export interface RunnableApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True when a stop arrived during the start, so a failed start is the shutdown, not an error. */
  readonly shutdownRequested: boolean;
}

/** Options for {@link runApp}. */
export interface RunAppOptions {
  /**
   * Set in a copy of a process run with WORKERS: its supervisor sends SIGTERM to every copy, so a
   * copy ignores SIGINT (Ctrl-C in a terminal reaches every process of the group, and would
   * otherwise count as a second signal), and drains when the supervisor is gone.
   */
  readonly copy?: { readonly onParentGone?: (handler: () => void) => () => void };
}

/**
 * The process around an app: start it, wait for SIGTERM or SIGINT, drain, stop, exit. Exit codes:
 * 0 after a clean stop, 78 on invalid config, 1 for a failed start, a failed or stuck stop, a
 * second signal, or an uncaught exception or unhandled rejection (which also start the shutdown).
 */
export async function runApp(
  app: RunnableApp,
  runtime: Runtime,
  logger: KernelLogger,
  options: RunAppOptions = {},
): Promise<never> {
  // Signal listeners do not keep Node's event loop alive; an idle app must still wait for SIGTERM.
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  const exit = (code: number): never => {
    clearInterval(keepAlive);
    return runtime.exit(code);
  };
  let exitCode: number = ExitCode.ok;
  let signals = 0;
  let shuttingDown: Promise<never> | undefined;
  const shutdown = (): Promise<never> => {
    shuttingDown ??= app.stop().then(
      () => exit(exitCode),
      () => exit(ExitCode.failure),
    );
    return shuttingDown;
  };
  runtime.onFatal((error, kind) => {
    logger.error(kind === "uncaughtException" ? "uncaught exception" : "unhandled rejection", { error });
    exitCode = ExitCode.failure;
    void shutdown();
  });
  const onSignal = (signal: ShutdownSignal) => () => {
    signals++;
    if (signals > 1) {
      logger.error("second signal: exiting without finishing the drain", { signal });
      exit(ExitCode.failure);
    }
    logger.info("shutdown signal received", { signal });
    void shutdown();
  };
  runtime.onSignal("SIGTERM", onSignal("SIGTERM"));
  if (options.copy) {
    runtime.onSignal("SIGINT", () => {});
    options.copy.onParentGone?.(() => {
      logger.warn("the supervisor is gone: draining");
      void shutdown();
    });
  } else {
    runtime.onSignal("SIGINT", onSignal("SIGINT"));
  }
  try {
    await app.start();
  } catch (error) {
    if (app.shutdownRequested) return shutdown();
    if (error instanceof ConfigError) {
      // One JSON event with the issues as data; in a terminal, the message's lines say it all.
      const fields =
        logger.format === "pretty"
          ? { code: error.code }
          : { error: { name: error.name, code: error.code }, issues: error.issues };
      logger.error(error.message, fields);
      return exit(ExitCode.config);
    }
    logger.error("app failed to start", { error });
    return exit(ExitCode.failure);
  }
  return new Promise<never>(() => {});
}
