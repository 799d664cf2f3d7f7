/** Pending stdout bytes beyond which log lines are dropped instead of queued. */
export const STDOUT_HIGH_WATER = 8 * 1024 * 1024;

interface WritableLike {
  write(chunk: string): boolean;
  readonly writableLength?: number;
  once(event: "drain", listener: () => void): unknown;
  on?(event: "error", listener: (error: unknown) => void): unknown;
}

/**
 * A stdout writer for Node-style streams that never queues more than {@link STDOUT_HIGH_WATER}
 * bytes: under a slow reader it drops lines, and reports how many once the reader catches up,
 * so a burst of logging cannot grow memory without bound.
 */
export function boundedLineWriter(stream: WritableLike): (line: string) => boolean {
  let dropped = 0;
  let waiting = false;
  // A reader that went away (EPIPE) must not turn the next log line into a fatal error: lines
  // written after that are lost either way, and the drain should still finish with its exit code.
  stream.on?.("error", () => {});
  return function writeLine(line) {
    if ((stream.writableLength ?? 0) > STDOUT_HIGH_WATER) {
      dropped++;
      if (!waiting) {
        waiting = true;
        stream.once("drain", () => {
          waiting = false;
          const count = dropped;
          dropped = 0;
          stream.write(
            `${JSON.stringify({ timestamp: new Date().toISOString(), level: "warn", message: "log lines dropped: stdout was not keeping up", dropped: count })}\n`,
          );
        });
      }
      return false;
    }
    stream.write(`${line}\n`);
    return true;
  };
}
