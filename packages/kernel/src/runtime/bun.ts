import { nodeProcessRuntime } from "./node-process.ts";
import { serveError } from "./serve-error.ts";
import { sinkLineWriter, stdoutWriter } from "./stdout.ts";
import type { ConnectionInfo, HttpServer, Runtime, ServeOptions } from "./types.ts";

/** Looks the peer address up only when asked: most requests never need it. */
class BunConnection implements ConnectionInfo {
  readonly #server: Bun.Server<undefined>;
  readonly #request: Request;
  constructor(server: Bun.Server<undefined>, request: Request) {
    this.#server = server;
    this.#request = request;
  }
  get remoteAddress(): string | undefined {
    return this.#server.requestIP(this.#request)?.address;
  }
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
    async serve(options: ServeOptions): Promise<HttpServer> {
      const server = Bun.serve({
        port: options.port,
        hostname: options.hostname,
        maxRequestBodySize: options.maxRequestBodySize,
        idleTimeout: options.idleTimeoutSeconds,
        // Bun's default follows NODE_ENV and, in development, answers a thrown error with its stack.
        development: false,
        error: serveError(options),
        fetch(request, srv) {
          return options.fetch(request, new BunConnection(srv, request));
        },
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
