import { bunCopies } from "./copies.ts";
import { nodeProcessRuntime } from "./node-process.ts";
import { serveError } from "./serve-error.ts";
import { sinkLineWriter, stdoutWriter } from "./stdout.ts";
import type { ConnectionInfo, HttpServer, Runtime, ServeOptions } from "./types.ts";

/** Bun's idle timeout when none is given. */
const BUN_IDLE_DEFAULT_S = 10;
/** Bun takes per-socket timeouts up to this many seconds; 0 is none. */
const BUN_TIMEOUT_MAX_S = 255;
/**
 * Slack of the backstop past the request timeout: Bun fires socket timeouts on a 4 s tick, and the
 * handler's own 504 needs a moment to be written.
 */
const BACKSTOP_SLACK_S = 8;

/** The connection of one request: the peer address, looked up only when asked, and the idle timer. */
class BunConnection implements ConnectionInfo {
  readonly #server: Bun.Server<undefined>;
  readonly #request: Request;
  readonly #idle: number;
  /** True while {@link keepOpen} holds the idle timer off. */
  held = false;
  constructor(server: Bun.Server<undefined>, request: Request, idle: number) {
    this.#server = server;
    this.#request = request;
    this.#idle = idle;
  }
  get remoteAddress(): string | undefined {
    return this.#server.requestIP(this.#request)?.address;
  }
  /** Sets the connection's idle timeout for this request; a request already finished has none to set. */
  timeout(seconds: number): void {
    try {
      this.#server.timeout(this.#request, seconds);
    } catch {
      // The response is complete and the request detached from its socket.
    }
  }
  keepOpen(): () => void {
    this.held = true;
    this.timeout(0);
    return () => {
      if (!this.held) return;
      this.held = false;
      this.timeout(this.#idle);
    };
  }
}

/**
 * Bun's `idleTimeout` counts a handler that has not answered yet, and an upload in progress, as
 * idle: left alone it cuts a 15 s request at 10 s, with an empty reply. So a request whose handler
 * does not answer at once gets the request timeout (plus slack) instead, and the idle timeout
 * again once it has answered, for the keep-alive wait that follows. A handler that answers
 * synchronously costs nothing here.
 */
function guarded(
  handler: ServeOptions["fetch"],
  idle: number,
  backstop: number,
): (request: Request, server: Bun.Server<undefined>) => Response | Promise<Response> {
  return function fetch(request, server) {
    const connection = new BunConnection(server, request, idle);
    const answer = handler(absolute(request, server), connection);
    if (!(answer instanceof Promise)) return answer;
    connection.timeout(backstop);
    return answer.then(
      (response) => {
        if (!connection.held) connection.timeout(idle);
        return response;
      },
      (error: unknown) => {
        connection.timeout(idle);
        throw error;
      },
    );
  };
}

/**
 * The request with an absolute URL. Bun hands over a relative one (`/livez`) when the request has
 * no usable Host (HTTP/1.0, say), and `new URL(request.url)` would then throw in a handler; Node
 * and Deno fill in their own address, and so does this.
 */
function absolute(request: Request, server: Bun.Server<undefined>): Request {
  if (request.url.charCodeAt(0) !== 47) return request;
  const host = server.hostname ?? "localhost";
  return new Request(`http://${host.includes(":") ? `[${host}]` : host}:${server.port}${request.url}`, request);
}

/** The per-request timeout while a handler runs: the request timeout plus slack, or none. */
export function backstopSeconds(requestTimeoutMs: number | undefined): number {
  if (!requestTimeoutMs) return 0;
  const seconds = Math.ceil(requestTimeoutMs / 1000) + BACKSTOP_SLACK_S;
  return seconds > BUN_TIMEOUT_MAX_S ? 0 : seconds;
}

/** The Bun runtime: Node-compatible process handling, `Bun.file` for reads, `Bun.serve` for HTTP. */
export function bunRuntime(): Runtime {
  const base = nodeProcessRuntime();
  return {
    ...base,
    name: "bun",
    async readTextFile(path) {
      const file = Bun.file(path);
      return (await file.exists()) ? await file.text() : undefined;
    },
    writeLine: stdoutWriter(() => sinkLineWriter(Bun.stdout.writer())),
    copies: bunCopies(),
    async serve(options: ServeOptions): Promise<HttpServer> {
      const server = Bun.serve({
        port: options.port,
        hostname: options.hostname,
        maxRequestBodySize: options.maxRequestBodySize,
        idleTimeout: options.idleTimeoutSeconds,
        reusePort: options.reusePort ?? false,
        // Bun's default follows NODE_ENV and, in development, answers a thrown error with its stack.
        development: false,
        error: serveError(options),
        fetch: guarded(
          options.fetch,
          options.idleTimeoutSeconds ?? BUN_IDLE_DEFAULT_S,
          backstopSeconds(options.requestTimeoutMs),
        ),
      });
      return {
        port: server.port ?? options.port,
        hostname: server.hostname ?? options.hostname,
        async stop(stopOptions) {
          await server.stop(stopOptions?.force ?? false);
        },
      };
    },
  };
}
