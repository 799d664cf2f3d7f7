import type { Runtime } from "./types.ts";

/** The parts of a runtime that Bun and Node share through the Node `process` object. */
export function nodeProcessRuntime(): Omit<Runtime, "name" | "readTextFile" | "serve" | "writeLine"> {
  return {
    env: () => ({ ...process.env }),
    onSignal(signal, handler) {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
    onFatal(handler) {
      const onException = (error: unknown) => handler(error, "uncaughtException");
      const onRejection = (reason: unknown) => handler(reason, "unhandledRejection");
      process.on("uncaughtException", onException);
      process.on("unhandledRejection", onRejection);
      return () => {
        process.off("uncaughtException", onException);
        process.off("unhandledRejection", onRejection);
      };
    },
    exit: (code) => process.exit(code),
    // Touched only when written to: making process.stderr costs start-up time on Bun.
    writeErrorLine: (line) => void process.stderr.write(`${line}\n`),
    args: () => process.argv.slice(2),
    now: () => performance.now(),
  };
}
