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
    stream.write(droppedReport(count));
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

/** What {@link sinkLineWriter} needs of a native incremental writer (Bun's `FileSink`). */
export interface LineSink {
  /** Queues a chunk; throws when the reader is gone (EPIPE). */
  write(chunk: string): unknown;
  /** Writes what is queued: a number when done at once, a promise while the reader is behind. */
  flush(): number | Promise<number>;
}

function droppedReport(count: number): string {
  return `${JSON.stringify({ timestamp: new Date().toISOString(), level: "warn", message: "log lines dropped: stdout was not keeping up", dropped: count })}\n`;
}

/**
 * The same contract as {@link boundedLineWriter} over a native sink, without Node's stream
 * machinery (on Bun, making `process.stdout` costs 6 to 7 ms of a cold start of about 12).
 * Lines of one event-loop turn go out as one write. While the reader is behind (a flush still
 * pending) lines wait here, in order, up to {@link STDOUT_HIGH_WATER} bytes; past that they are
 * dropped and counted, and the count is reported once the reader catches up. Once the reader is
 * gone (EPIPE) lines are discarded: the process goes on and exits with its own code.
 */
export function sinkLineWriter(sink: LineSink): LineWriter {
  let batch = "";
  let scheduled = false;
  let inFlight = false;
  let closed = false;
  let dropped = 0;

  const send = (chunk: string): void => {
    try {
      sink.write(chunk);
      const done = sink.flush();
      if (typeof done === "number") return;
      inFlight = true;
      done.then(caughtUp, () => {
        closed = true;
      });
    } catch {
      closed = true;
    }
  };
  const caughtUp = () => {
    inFlight = false;
    if (dropped > 0) {
      batch = droppedReport(dropped) + batch;
      dropped = 0;
    }
    flush();
  };
  const flush = () => {
    scheduled = false;
    if (batch === "" || inFlight || closed) return;
    const chunk = batch;
    batch = "";
    send(chunk);
  };
  const writeLine = (line: string): boolean => {
    if (closed) return false;
    if (batch.length > STDOUT_HIGH_WATER) {
      dropped++;
      return false;
    }
    batch += `${line}\n`;
    if (!scheduled && !inFlight) {
      scheduled = true;
      setImmediate(flush);
    }
    return true;
  };
  // At exit the sink's own buffer is written by the runtime; hand it what is still batched.
  const flushNow = () => {
    if (batch === "" || closed) return;
    const chunk = batch;
    batch = "";
    try {
      sink.write(chunk);
      sink.flush();
    } catch {
      closed = true;
    }
  };
  return Object.assign(writeLine, { flush: flushNow });
}

let processWriter: LineWriter | undefined;

/**
 * The process's stdout writer (Bun and Node), made once and flushed on exit, whoever calls
 * `process.exit`: a batched line must not be lost to an exit in the same turn.
 */
export function stdoutWriter(make: () => LineWriter): LineWriter {
  if (processWriter) return processWriter;
  const writer = make();
  process.once("exit", () => writer.flush());
  processWriter = writer;
  return writer;
}
