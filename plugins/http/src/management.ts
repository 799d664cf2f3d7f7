/**
 * The management server: the probes and `/metrics` of a process that serves no HTTP of its own
 * (worker, scheduler), on MANAGEMENT_PORT, so Kubernetes probes and Prometheus see every process.
 * It shares the probe code with the http plugin and nothing of its request pipeline: no Hono, no
 * per-request middleware unless a plugin adds some.
 */
import {
  defineConfig,
  definePlugin,
  env,
  type FetchHandler,
  type HttpMethod,
  type HttpMiddleware,
  HttpRoutes,
  type InferConfig,
  type Plugin,
  type ProcessType,
  type RequestFacts,
  token,
} from "@twelvefold/kernel";
import * as v from "valibot";
import { normalizePath } from "./path.ts";
import type { HttpListener } from "./plugin.ts";
import { healthResponse, livezResponse, readyzResponse } from "./probes.ts";

/** The management server's settings, keyed by env var name. */
export const managementConfig = defineConfig({
  /** The port of the probes and `/metrics` in a worker or scheduler process; 0 picks a free one. */
  MANAGEMENT_PORT: v.optional(env.port(), "9000"),
  MANAGEMENT_HOST: v.optional(env.string({ minLength: 1 }), "0.0.0.0"),
});

/** The management server's parsed settings. */
export type ManagementConfig = InferConfig<typeof managementConfig>;

/** Options of {@link management}: settings that win over the environment. */
export type ManagementOptions = Partial<ManagementConfig>;

/** Where the management server listens, once bound. */
export const ManagementListener = token<HttpListener>("twelvefold/http/ManagementListener");

/** Runs in a worker or a scheduler, never beside web: the http plugin serves the probes there. */
export function runsManagement(types: ReadonlySet<ProcessType>): boolean {
  return !types.has("web") && (types.has("worker") || types.has("scheduler"));
}

const JSON_NOT_FOUND = { "content-type": "application/json", "cache-control": "no-store" };

interface Route {
  readonly handler: FetchHandler;
  readonly probe: boolean;
}

/**
 * The management plugin: binds MANAGEMENT_PORT (default 9000) in worker and scheduler processes
 * and serves `/livez`, `/readyz` (200 once the process is ready: a worker's consumers subscribed,
 * a scheduler holding its schedule; 503 from the drain on) and `/health`. It provides the kernel's
 * HttpRoutes, so the metrics plugin serves `/metrics` on it unchanged. It keeps answering while
 * the process drains (readiness false) and closes at stop.
 *
 * @example
 * ```ts
 * createApp({
 *   name: "agent",
 *   plugins: [http(), management(), metrics(), worker({ jobs }), scheduler({ jobs: cron })],
 * });
 * // bun main.ts worker  ->  curl localhost:9000/readyz
 * ```
 */
export function management(options: ManagementOptions = {}): Plugin {
  return definePlugin({
    name: "management",
    config: managementConfig,
    options,
    processes: runsManagement,
    provides: [HttpRoutes, ManagementListener],
    async start({ config, lifecycle, runtime, logger, provide, onStop }) {
      const routes = new Map<string, Route>([
        ["GET /livez", { handler: livezResponse, probe: true }],
        ["GET /readyz", { handler: () => readyzResponse(lifecycle), probe: true }],
        ["GET /health", { handler: () => healthResponse(lifecycle), probe: true }],
      ]);
      const middleware: HttpMiddleware[] = [];

      const route = (request: Request, path: string, clientIp: string): Response | Promise<Response> => {
        const method = request.method === "HEAD" ? "GET" : request.method;
        const found = routes.get(`${method} ${path}`);
        if (found === undefined) {
          return new Response('{"status":"not found"}', { status: 404, headers: JSON_NOT_FOUND });
        }
        if (found.probe || middleware.length === 0) return found.handler(request);
        const facts: RequestFacts = {
          requestId: crypto.randomUUID(),
          clientIp,
          path,
          route: path,
          subject: undefined,
          signal: request.signal,
        };
        const run = (i: number): Promise<Response> =>
          i === middleware.length
            ? Promise.resolve(found.handler(request))
            : Promise.resolve((middleware[i] as HttpMiddleware)(request, facts, () => run(i + 1)));
        return run(0);
      };

      const server = await runtime.serve({
        port: config.MANAGEMENT_PORT,
        hostname: config.MANAGEMENT_HOST,
        maxRequestBodySize: 64 * 1024,
        idleTimeoutSeconds: 10,
        fetch: (request, info) => route(request, normalizePath(request.url), info.remoteAddress ?? "unknown"),
        onError: (error) => {
          logger.error("management request failed", { error });
          return new Response('{"status":"error"}', { status: 500, headers: JSON_NOT_FOUND });
        },
      });
      const shown = server.hostname === "0.0.0.0" || server.hostname === "::" ? "127.0.0.1" : server.hostname;
      const listener: HttpListener = {
        port: server.port,
        hostname: server.hostname,
        url: `http://${shown.includes(":") ? `[${shown}]` : shown}:${server.port}`,
      };
      logger.info("management listening", { url: listener.url, port: server.port, hostname: server.hostname });
      // The probes keep answering through the drain (readiness is false then); the port closes last.
      onStop(() => server.stop());

      provide(ManagementListener, listener);
      provide(HttpRoutes, {
        add(method: HttpMethod, path: string, handler: FetchHandler, routeOptions) {
          routes.set(`${method} ${path}`, { handler, probe: routeOptions?.probe ?? false });
        },
        use(mw) {
          middleware.push(mw);
        },
      });
    },
  });
}
