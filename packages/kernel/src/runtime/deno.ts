import { serveError } from "./serve-error.ts";
import type { HttpServer, Runtime, ServeOptions } from "./types.ts";

interface DenoServer {
  readonly addr: { readonly port: number; readonly hostname: string };
  shutdown(): Promise<void>;
  readonly finished: Promise<void>;
}

interface DenoNamespace {
  env: { toObject(): Record<string, string> };
  readTextFile(path: string): Promise<string>;
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  exit(code: number): never;
  stdout: { writeSync(bytes: Uint8Array): number };
  stderr: { writeSync(bytes: Uint8Array): number };
  readonly args: readonly string[];
  errors: { NotFound: new (...args: never[]) => Error };
  serve(
    options: { port: number; hostname: string; onListen?: () => void; onError?: (error: unknown) => Response },
    handler: (request: Request, info: { remoteAddr: { hostname: string } }) => Response | Promise<Response>,
  ): DenoServer;
}

function deno(): DenoNamespace {
  return (globalThis as unknown as { Deno: DenoNamespace }).Deno;
}

/** The Deno runtime: `Deno.*` APIs, `Deno.serve` for HTTP, web events for fatal errors. */
export function denoRuntime(): Runtime {
  const encoder = new TextEncoder();
  return {
    name: "deno",
    env: () => deno().env.toObject(),
    async readTextFile(path) {
      try {
        return await deno().readTextFile(path);
      } catch (error) {
        if (error instanceof deno().errors.NotFound) return undefined;
        throw error;
      }
    },
    onSignal(signal, handler) {
      deno().addSignalListener(signal, handler);
      return () => deno().removeSignalListener(signal, handler);
    },
    onFatal(handler) {
      const onError = (event: ErrorEvent) => {
        event.preventDefault();
        handler(event.error, "uncaughtException");
      };
      const onRejection = (event: PromiseRejectionEvent) => {
        event.preventDefault();
        handler(event.reason, "unhandledRejection");
      };
      globalThis.addEventListener("error", onError);
      globalThis.addEventListener("unhandledrejection", onRejection);
      return () => {
        globalThis.removeEventListener("error", onError);
        globalThis.removeEventListener("unhandledrejection", onRejection);
      };
    },
    exit: (code) => deno().exit(code),
    now: () => performance.now(),
    writeLine(line) {
      deno().stdout.writeSync(encoder.encode(`${line}\n`));
      return true;
    },
    writeErrorLine(line) {
      deno().stderr.writeSync(encoder.encode(`${line}\n`));
    },
    args: () => [...deno().args],
    async serve(options: ServeOptions): Promise<HttpServer> {
      const { promise: listening, resolve } = Promise.withResolvers<void>();
      const server = deno().serve(
        { port: options.port, hostname: options.hostname, onListen: () => resolve(), onError: serveError(options) },
        (request, info) => {
          // Deno 2.9 makes a request's signal when it is first read, and only a signal that exists
          // hears the client leave: read it now, or a client gone mid-request is logged as a 200.
          // (Deno also aborts it after a successful answer, and says so once per process.)
          void request.signal;
          return options.fetch(request, { remoteAddress: info.remoteAddr.hostname });
        },
      );
      await listening;
      return {
        port: server.addr.port,
        hostname: server.addr.hostname,
        async stop() {
          await server.shutdown();
        },
      };
    },
  };
}
