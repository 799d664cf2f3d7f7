import { nodeCopies } from "./copies.ts";
import { nodeProcessRuntime } from "./node-process.ts";
import { serveError } from "./serve-error.ts";
import { boundedLineWriter, stdoutWriter } from "./stdout.ts";
import type { HttpServer, Runtime, ServeOptions } from "./types.ts";

/** The Node runtime: `node:fs` for reads, `node:http` through @hono/node-server for HTTP. */
export function nodeRuntime(): Runtime {
  return {
    ...nodeProcessRuntime(),
    name: "node",
    async readTextFile(path) {
      const { readFile } = await import("node:fs/promises");
      try {
        return await readFile(path, "utf8");
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return undefined;
        throw error;
      }
    },
    writeLine: stdoutWriter(() => boundedLineWriter(process.stdout)),
    copies: nodeCopies(),
    async serve(options: ServeOptions): Promise<HttpServer> {
      const { createAdaptorServer } = await import("@hono/node-server");
      const answerError = serveError(options);
      // node:http's requestTimeout (300 s by default) cuts a request whose body is still arriving;
      // it must not come before the handler's own timeout, nor at all when that is off.
      const requestTimeout = options.requestTimeoutMs ? options.requestTimeoutMs + 8_000 : 0;
      const server = createAdaptorServer({
        // @hono/node-server has no error hook of its own; its fallback logs to the console.
        fetch: (request: Request, env: { incoming?: { socket?: { remoteAddress?: string } } }) => {
          try {
            const answer = options.fetch(request, { remoteAddress: env.incoming?.socket?.remoteAddress });
            return answer instanceof Promise ? answer.catch(answerError) : answer;
          } catch (error) {
            return answerError(error);
          }
        },
        hostname: options.hostname,
        // Left on, @hono/node-server swaps the global Request and Response for its own classes,
        // which breaks any other server in the process (Bun.serve refuses them).
        overrideGlobalObjects: false,
        serverOptions: {
          requestTimeout,
          headersTimeout: requestTimeout === 0 ? 60_000 : Math.min(60_000, requestTimeout),
          ...(options.maxHeaderBytes === undefined ? {} : { maxHeaderSize: options.maxHeaderBytes }),
          ...(options.idleTimeoutSeconds === undefined ? {} : { keepAliveTimeout: options.idleTimeoutSeconds * 1000 }),
        },
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port, options.hostname, () => resolve());
      });
      const address = server.address();
      return {
        port: typeof address === "object" && address ? address.port : options.port,
        hostname: options.hostname,
        stop(stopOptions) {
          return new Promise((resolve) => {
            server.close(() => resolve());
            if (stopOptions?.force && "closeAllConnections" in server) server.closeAllConnections();
            else if ("closeIdleConnections" in server) server.closeIdleConnections();
          });
        },
      };
    },
  };
}
