/** Pending stdout bytes beyond which log lines are dropped instead of queued. */
export const STDOUT_HIGH_WATER = 8 * 1024 * 1024;

interface WritableLike {
  write(chunk: string): boolean;
  readonly writableLength?: number;
  once(event: "drain", listener: () => void): unknown;
  on?(event: "error", listener: (error: unknown) => void): unknown;
}

/** Writes one log line; `flush()` writes what is batched now (the adapters call it at exit). */
export interface LineWriter {
  (line: string): boolean;
  flush(): void;
}

/**
 * A stdout writer for Node-style streams. Lines written during one turn of the event loop go out
 * as one write: a write call per line was the largest single cost of an access-logged request
 * under load. It never queues more than {@link STDOUT_HIGH_WATER} bytes: under a slow reader it
 * drops lines and reports how many once the reader catches up, so a burst of logging cannot grow
 * memory without bound. The runtime adapters flush it when the process exits.
 */
export function boundedLineWriter(stream: WritableLike): LineWriter {
  let dropped = 0;
  let waiting = false;
  let batch = "";
  let scheduled = false;
  // A reader that went away (EPIPE) must not turn the next log line into a fatal error: lines
  // written after that are lost either way, and the drain should still finish with its exit code.
  stream.on?.("error", () => {});
  const flush = () => {
    scheduled = false;
    if (batch === "") return;
    const chunk = batch;
    batch = "";
    stream.write(chunk);
  };
  const reportDropped = () => {
    waiting = false;
    const count = dropped;
    dropped = 0;
    stream.write(
      `${JSON.stringify({ timestamp: new Date().toISOString(), level: "warn", message: "log lines dropped: stdout was not keeping up", dropped: count })}\n`,
    );
  };
  const writeLine = (line: string): boolean => {
    if ((stream.writableLength ?? 0) + batch.length > STDOUT_HIGH_WATER) {
      dropped++;
      if (!waiting) {
        waiting = true;
        stream.once("drain", reportDropped);
      }
      return false;
    }
    batch += `${line}\n`;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    return true;
  };
  return Object.assign(writeLine, { flush });
}

let processWriter: LineWriter | undefined;

/**
 * The process's stdout writer (Bun and Node), made once and flushed on exit, whoever calls
 * `process.exit`: a batched line must not be lost to an exit in the same turn.
 */
export function stdoutWriter(): LineWriter {
  if (processWriter) return processWriter;
  const writer = boundedLineWriter(process.stdout);
  process.once("exit", () => writer.flush());
  processWriter = writer;
  return writer;
}
