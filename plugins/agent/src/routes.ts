/**
 * The run routes. Streams need the http plugin's event-stream writer (keep-alive, the request
 * timeout lifted, `retry:` at drain), which takes its Hono context; plugins never import each
 * other, so the app hands the plugin the http plugin's app token and writer, and this file names
 * the few parts of them it uses: `agent({ loop: Agent, routes: { app: HttpApp, eventStream } })`.
 */
import type { Token } from "@twelvefold/kernel";
import { AgentError, agentErrors, problemOf } from "./errors.ts";
import type { AgentRuns, RunStream } from "./runs.ts";

/** What a route handler reads of its request context (Hono's `Context` fits). */
export interface RouteContext {
  readonly req: {
    readonly raw: Request;
    param(name: string): string | undefined;
    header(name: string): string | undefined;
  };
}

/** Where the routes go (the http plugin's Hono app fits). */
export interface RouteApp<C> {
  get(path: string, handler: (c: C) => Promise<Response>): unknown;
  post(path: string, handler: (c: C) => Promise<Response>): unknown;
  delete(path: string, handler: (c: C) => Promise<Response>): unknown;
}

/** The http plugin's `eventStream`, as far as the routes use it. */
export type EventStreamWriter<C> = (
  c: C,
  source: (stream: RunStream) => Promise<void>,
  options: { readonly retryMs: number; readonly headers?: Readonly<Record<string, string>> },
) => Response;

/** The option that mounts the run routes: the http plugin's app token and its event-stream writer. */
export interface AgentRoutes<C extends RouteContext = RouteContext> {
  readonly app: Token<RouteApp<C>>;
  readonly eventStream: EventStreamWriter<C>;
}

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The run id of the route, or a 404 AgentError. Run ids are random UUIDs: knowing one is the capability. */
function runIdOf(c: RouteContext): string {
  const id = c.req.param("id") ?? "";
  if (!RUN_ID.test(id)) throw agentErrors.create("TF_AGENT_NOT_FOUND", { runId: id });
  return id.toLowerCase();
}

async function answer(work: () => Promise<Response>): Promise<Response> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AgentError) return problemOf(error);
    throw error;
  }
}

/**
 * Mounts the run routes on the app: `GET <prefix>/:id/events` (the resumable SSE stream;
 * Last-Event-ID, or `?after=`), `DELETE <prefix>/:id` (cancel: 202) and
 * `POST <prefix>/:id/approvals` (`{ request, approved }`).
 */
export function mountRoutes<C extends RouteContext>(
  app: RouteApp<C>,
  runs: AgentRuns,
  options: { readonly prefix: string; readonly eventStream: EventStreamWriter<C> },
): void {
  const { prefix, eventStream } = options;
  app.get(`${prefix}/:id/events`, (c) =>
    answer(async () => {
      const runId = runIdOf(c);
      const after = c.req.header("last-event-id") || new URL(c.req.raw.url).searchParams.get("after") || undefined;
      await runs.check(runId, after);
      return eventStream(c, (stream) => runs.pipe(runId, stream, { after }), {
        retryMs: runs.retryMs,
        headers: { "x-run-id": runId },
      });
    }),
  );
  app.delete(`${prefix}/:id`, (c) =>
    answer(async () => {
      const runId = runIdOf(c);
      await runs.cancel(runId);
      return Response.json({ run_id: runId, status: "cancelling" }, { status: 202 });
    }),
  );
  app.post(`${prefix}/:id/approvals`, (c) =>
    answer(async () => {
      const runId = runIdOf(c);
      let body: unknown;
      try {
        body = await c.req.raw.json();
      } catch {
        throw agentErrors.create("TF_AGENT_BAD_REQUEST", { reason: "the body must be JSON: { request, approved }" });
      }
      const { request: signed, approved } = (body ?? {}) as { request?: unknown; approved?: unknown };
      if (typeof signed !== "string" || typeof approved !== "boolean") {
        throw agentErrors.create("TF_AGENT_BAD_REQUEST", {
          reason: "the body must be { request: string, approved: boolean }",
        });
      }
      const { callId } = await runs.approve(runId, { request: signed, approved });
      return Response.json({ run_id: runId, call_id: callId, approved });
    }),
  );
}
