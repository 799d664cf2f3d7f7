import type { HttpRoutes } from "@twelvefold/kernel";
import { AgentError, agentErrors, problemOf } from "./errors.ts";
import type { AgentRuns } from "./runs.ts";

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The run id in `/<prefix>/<id>/...`, or a 404 AgentError. Run ids are random UUIDs: knowing one is the capability. */
function runIdOf(request: Request, prefix: string): string {
  const rest = new URL(request.url).pathname.slice(prefix.length + 1);
  const id = rest.split("/")[0] ?? "";
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
 * Mounts the run routes on the http plugin through the kernel's HttpRoutes:
 * `GET <prefix>/:id/events` (the resumable SSE stream; Last-Event-ID or `?after=`),
 * `DELETE <prefix>/:id` (cancel: 202) and `POST <prefix>/:id/approvals` (`{ request, approved }`).
 */
export function mountRoutes(routes: HttpRoutes, runs: AgentRuns, prefix: string): void {
  routes.add("GET", `${prefix}/:id/events`, (request) =>
    answer(async () => {
      const runId = runIdOf(request, prefix);
      const lastEventId =
        request.headers.get("last-event-id") ?? new URL(request.url).searchParams.get("after") ?? undefined;
      return runs.stream(runId, { lastEventId: lastEventId || undefined, signal: request.signal });
    }),
  );
  routes.add("DELETE", `${prefix}/:id`, (request) =>
    answer(async () => {
      const runId = runIdOf(request, prefix);
      await runs.cancel(runId);
      return Response.json({ run_id: runId, status: "cancelling" }, { status: 202 });
    }),
  );
  routes.add("POST", `${prefix}/:id/approvals`, (request) =>
    answer(async () => {
      const runId = runIdOf(request, prefix);
      let body: unknown;
      try {
        body = await request.json();
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
