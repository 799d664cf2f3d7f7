/**
 * A keep-alive HTTP/1.1 load generator on raw sockets, so every request's fate is known exactly:
 * which connection carried it, whether that connection had already carried a response (reused),
 * and how many bytes came back. fetch hides all three.
 */
import { connect, type Socket } from "node:net";

/** What happened to one request. */
export type Outcome =
  /** A complete response; `status` says which. */
  | "response"
  /** The connection was refused, or reset before the request could have reached the server. */
  | "refused"
  /** Sent on a connection that had answered before (or with bytes received), then lost. */
  | "lost"
  /** No complete response within the per-request timeout. */
  | "timeout";

export interface RequestRecord {
  readonly outcome: Outcome;
  readonly status?: number;
  readonly reused: boolean;
  readonly error?: string;
}

export interface LoadOptions {
  readonly port: number;
  readonly path: string;
  readonly connections: number;
  /** Stop sending new requests after this signal aborts (connections finish their request). */
  readonly stop: AbortSignal;
  readonly requestTimeoutMs: number;
  /** Called as each request ends, so a test can wait for the run to be under way instead of sleeping. */
  readonly onRecord?: (record: RequestRecord) => void;
}

/** Runs one connection's request loop: one request at a time, reconnecting after `Connection: close`. */
async function worker(options: LoadOptions, records: RequestRecord[]): Promise<void> {
  let socket: Socket | undefined;
  let answered = 0;
  while (!options.stop.aborted) {
    if (socket === undefined) {
      const opened = await open(options.port).catch((error: Error) => error);
      if (opened instanceof Error) {
        const record: RequestRecord = { outcome: "refused", reused: false, error: opened.message };
        records.push(record);
        options.onRecord?.(record);
        return; // The listener is gone: this client is done.
      }
      socket = opened;
      answered = 0;
    }
    const record = await exchange(socket, options, answered > 0);
    records.push(record);
    options.onRecord?.(record);
    if (record.outcome !== "response" || record.close) {
      socket.destroy();
      socket = undefined;
      if (record.outcome === "refused") return;
    } else answered++;
  }
  socket?.end();
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.setNoDelay(true);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Sends one GET and reads one response. */
function exchange(socket: Socket, options: LoadOptions, reused: boolean): Promise<RequestRecord & { close?: boolean }> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let bytes = 0;
    const done = (record: RequestRecord & { close?: boolean }) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
      resolve(record);
    };
    // Nothing received on a fresh connection: the request never reached a server that accepted it.
    const failure = (error: string) =>
      done({ outcome: reused || bytes > 0 ? "lost" : "refused", reused, error: `${error} after ${bytes} bytes` });
    const onError = (error: Error) => failure(error.message);
    const onClose = () => failure("connection closed");
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      const status = Number(head.slice(9, 12));
      done({ outcome: "response", status, reused, close: /\r\nconnection: *close/i.test(head) });
    };
    const timer = setTimeout(() => done({ outcome: "timeout", reused }), options.requestTimeoutMs);
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("error", onError);
    socket.write(`GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

/** Keeps `connections` keep-alive connections busy until `stop` aborts or the server goes away. */
export async function load(options: LoadOptions): Promise<RequestRecord[]> {
  const records: RequestRecord[] = [];
  await Promise.all(Array.from({ length: options.connections }, () => worker(options, records)));
  return records;
}

/**
 * Starts {@link load} and resolves `underWay` once `responses` complete responses have come back, so
 * a signal sent then finds the server mid-run with every connection busy, however loaded the machine.
 * `underWay` rejects if the load ends first (the server went away).
 */
export function loadUnderWay(
  options: Omit<LoadOptions, "onRecord">,
  responses: number,
): { underWay: Promise<void>; done: Promise<RequestRecord[]> } {
  const { promise: underWay, resolve, reject } = Promise.withResolvers<void>();
  let answered = 0;
  const done = load({
    ...options,
    onRecord(record) {
      if (record.outcome === "response" && ++answered === responses) resolve();
    },
  });
  done.then(
    (records) =>
      reject(
        new Error(`the load ended after ${answered} of ${responses} responses: ${JSON.stringify(records.slice(-3))}`),
      ),
    reject,
  );
  return { underWay, done };
}
