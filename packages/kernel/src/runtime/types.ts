/** The signals that start a graceful shutdown. */
export type ShutdownSignal = "SIGTERM" | "SIGINT";

/** What `serve` hands the request handler besides the request. */
export interface ConnectionInfo {
  /** The peer's address as the socket reports it; proxies are the http plugin's concern. */
  readonly remoteAddress: string | undefined;
  /**
   * Exempts this request's connection from the server's idle timeout until the returned function
   * is called: for a long-lived stream (server-sent events) that may go quiet for longer than
   * `idleTimeoutSeconds`. Without it, a response body that goes quiet that long may be cut on Bun
   * (Node and Deno never cut a response in progress). A request whose handler has not answered
   * yet needs none of this: the server never cuts it (see {@link ServeOptions.requestTimeoutMs}).
   */
  keepOpen?(): () => void;
}

/** Options for {@link Runtime.serve}. */
export interface ServeOptions {
  readonly port: number;
  readonly hostname: string;
  readonly fetch: (request: Request, info: ConnectionInfo) => Response | Promise<Response>;
  /** Largest request body accepted, in bytes; larger ones are refused by the server. */
  readonly maxRequestBodySize?: number;
  /**
   * Seconds an idle keep-alive connection stays open between requests (Bun, Node; Deno 2.9 has no
   * such setting and keeps idle connections until the client closes them).
   */
  readonly idleTimeoutSeconds?: number;
  /**
   * Milliseconds within which the server itself never cuts a request, while its handler runs or
   * its body arrives (0: no limit of the server's own). The handler's own timeout answers first;
   * the runtime's cut, where it has one, is only a backstop a few seconds after this.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Largest request head accepted, in bytes, where the runtime lets a server set it (Node).
   * Bun takes it only from the command line (`bun --max-http-header-size`); Deno has no setting.
   */
  readonly maxHeaderBytes?: number;
  /**
   * Lets other processes bind the same port (SO_REUSEPORT), so the kernel spreads connections over
   * them: set in each copy of a process run with WORKERS above 1. Bun passes it to the socket;
   * Node's copies are cluster workers, which share the primary's socket instead.
   */
  readonly reusePort?: boolean;
  /**
   * Answers a request whose handler threw or rejected (default: a bare 500). Never the runtime's
   * own error page: Bun's, in its default development mode, shows the message and the stack.
   */
  readonly onError?: (error: unknown) => Response;
}

/** A listening HTTP server. */
export interface HttpServer {
  readonly port: number;
  readonly hostname: string;
  /**
   * Stops accepting connections and closes idle keep-alive ones; requests in flight (streamed
   * bodies included) finish first, unless `force` closes every connection at once. Resolves when
   * the in-flight requests are done. A request that should not keep its connection (the http plugin
   * does this while draining) answers with `Connection: close`, and every runtime honours that.
   */
  stop(options?: { readonly force?: boolean }): Promise<void>;
}

/** A copy of this process started by {@link ProcessCopies.fork}. */
export interface CopyProcess {
  readonly pid: number | undefined;
  /** Resolves when the copy has ended: its exit code, or `null` with the signal that ended it. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: string | null }>;
  kill(signal: "SIGTERM" | "SIGKILL"): void;
}

/** Running copies of this process, for WORKERS (Bun: a spawned copy; Node: a cluster worker). */
export interface ProcessCopies {
  /** Starts a copy of this process, with the same command line and `env` added to the environment. */
  fork(env: Readonly<Record<string, string>>): Promise<CopyProcess>;
  /** Calls `handler` once the process that started this one has gone; returns a function that stops watching. */
  onParentGone(handler: () => void): () => void;
}

/**
 * Everything the kernel needs from the runtime, and nothing more. The kernel core talks to the
 * process only through this, so it runs unchanged on Bun, Deno and Node.
 */
export interface Runtime {
  readonly name: "bun" | "deno" | "node" | (string & {});
  /** A snapshot of the process environment. */
  env(): Record<string, string | undefined>;
  /** The file's text, or `undefined` when it does not exist. */
  readTextFile(path: string): Promise<string | undefined>;
  /** Calls `handler` on the signal; returns a function that removes it. */
  onSignal(signal: ShutdownSignal, handler: () => void): () => void;
  /** Calls `handler` on an uncaught exception or unhandled rejection instead of crashing. */
  onFatal(handler: (error: unknown, kind: "uncaughtException" | "unhandledRejection") => void): () => void;
  /** Ends the process. */
  exit(code: number): never;
  /** Monotonic milliseconds, for durations. */
  now(): number;
  /** Writes one line to stdout; returns false when it was dropped because the reader is behind. */
  writeLine(line: string): boolean;
  /**
   * Writes one line to stderr: an admin process logs there, so that stdout holds only the
   * command's output. Optional for hand-made runtimes; stdout is used without it.
   */
  writeErrorLine?(line: string): void;
  /**
   * The command-line arguments after the script (`web`, `admin migrate --status`): the process
   * type, and an admin command's arguments. Optional for hand-made runtimes; none without it.
   */
  args?(): readonly string[];
  /** Binds a port and serves HTTP with a fetch-style handler. */
  serve(options: ServeOptions): Promise<HttpServer>;
  /** Starts copies of this process (WORKERS above 1); a runtime without it runs one process only. */
  readonly copies?: ProcessCopies;
}
