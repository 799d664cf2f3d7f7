/**
 * One HTTP exchange on a raw `node:net` socket, for request shapes fetch and curl cannot send (no
 * Host, HTTP/1.0, a body that trickles in, a client that leaves) and for seeing exactly what came
 * back and when the server closed the connection.
 */
import { connect } from "node:net";

/** What came back on the socket. */
export interface RawExchange {
  /** Everything received, as text. */
  readonly text: string;
  /** The status of the first response, or undefined when none arrived. */
  readonly status: number | undefined;
  /** True when the server closed the connection (rather than the test giving up). */
  readonly closedByServer: boolean;
}

/** Options for {@link rawExchange}. */
export interface RawOptions {
  /** Pieces written one after another, `gapMs` apart (a slow upload); the first is the head. */
  readonly pieces?: readonly string[];
  readonly gapMs?: number;
  /** The client leaves (destroys its socket) after this long. */
  readonly leaveAfterMs?: number;
  /** Give up and close after this long (default 20 s); a well-behaved server closes before. */
  readonly waitMs?: number;
  /** Resolve as soon as a complete response head and this text in the body arrived. */
  readonly until?: string;
}

/**
 * Writes `head` (and any further pieces) to `127.0.0.1:port` and collects what comes back until
 * the server closes, the client leaves, `until` is seen, or `waitMs` passes.
 *
 * @example
 * ```ts
 * const got = await rawExchange(port, "GET /livez HTTP/1.0\r\n\r\n");
 * expect(got.status).toBe(200);
 * ```
 */
export function rawExchange(port: number, head: string, options: RawOptions = {}): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let done = false;
    const timers: Array<ReturnType<typeof setTimeout>> = [];
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      socket.destroy();
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: match ? Number(match[1]) : undefined, closedByServer });
    };
    socket.setNoDelay(true);
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      if (options.until !== undefined && text.includes("\r\n\r\n") && text.includes(options.until)) finish(false);
    });
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
    socket.write(head);
    (options.pieces ?? []).forEach((piece, index) => {
      timers.push(setTimeout(() => socket.write(piece), (index + 1) * (options.gapMs ?? 0)));
    });
    if (options.leaveAfterMs !== undefined) timers.push(setTimeout(() => finish(false), options.leaveAfterMs));
    timers.push(setTimeout(() => finish(false), options.waitMs ?? 20_000));
  });
}

/**
 * The body of a raw response, its chunked framing undone where it has one (as far as it arrived).
 *
 * @example
 * ```ts
 * bodyOf("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"); // "hi"
 * ```
 */
export function bodyOf(text: string): string {
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return "";
  const head = text.slice(0, split).toLowerCase();
  let rest = text.slice(split + 4);
  if (!/\r\ntransfer-encoding: *chunked/.test(head)) return rest;
  let body = "";
  for (;;) {
    const line = rest.indexOf("\r\n");
    if (line < 0) return body;
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (!Number.isFinite(size) || size === 0) return body;
    body += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}
