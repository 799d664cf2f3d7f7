import type { HealthReport, Lifecycle } from "@twelvefold/kernel";
import type { Hono } from "hono";
import type { HttpEnv } from "./core.ts";
import { normalizePath } from "./path.ts";
import { problemResponse } from "./problem.ts";

/** The probe paths, exempt from rate limiting, metrics and the access log. */
export const PROBE_PATHS = ["/livez", "/readyz", "/health"] as const;

const NO_STORE = { "content-type": "application/json", "cache-control": "no-store" };

/** The `/health` body: the kernel's report in snake case, latencies in milliseconds. */
export function healthBody(report: HealthReport): Record<string, unknown> {
  const checks: Record<string, unknown> = {};
  for (const [name, check] of Object.entries(report.checks)) {
    checks[name] = {
      status: check.status,
      latency_ms: check.latencyMs,
      ...(check.detail ? { detail: check.detail } : {}),
    };
  }
  return {
    status: report.status,
    name: report.name,
    version: report.version,
    environment: report.environment,
    uptime_seconds: report.uptimeSeconds,
    checks,
  };
}

/** `/readyz` when not ready: 503 with the phase and every check that is not up. */
async function notReady(lifecycle: Lifecycle): Promise<Response> {
  const report =
    lifecycle.phase === "ready" || lifecycle.phase === "starting" ? undefined : await safeHealth(lifecycle);
  const failing: Record<string, unknown> = {};
  for (const [name, check] of Object.entries(report?.checks ?? {})) {
    if (check.status !== "up")
      failing[name] = { status: check.status, ...(check.detail ? { detail: check.detail } : {}) };
  }
  return new Response(JSON.stringify({ status: "not ready", phase: lifecycle.phase, checks: failing }), {
    status: 503,
    headers: NO_STORE,
  });
}

async function safeHealth(lifecycle: Lifecycle): Promise<HealthReport | undefined> {
  try {
    return await lifecycle.health();
  } catch {
    return undefined;
  }
}

/** `/livez`: the process answers. */
export function livezResponse(): Response {
  return new Response('{"status":"alive"}', { headers: NO_STORE });
}

/** `/readyz`: 200 from ready until draining, else 503 with the phase and the failing checks. */
export function readyzResponse(lifecycle: Lifecycle): Response | Promise<Response> {
  if (lifecycle.ready) return new Response('{"status":"ready"}', { headers: NO_STORE });
  return notReady(lifecycle);
}

/** `/health`: the aggregated report; 503 when down. */
export async function healthResponse(lifecycle: Lifecycle): Promise<Response> {
  const report = await lifecycle.health();
  return new Response(JSON.stringify(healthBody(report)), {
    status: report.status === "down" ? 503 : 200,
    headers: NO_STORE,
  });
}

/**
 * Adds `/livez` (the process answers), `/readyz` (200 from ready until draining, else 503 with
 * the failing checks) and `/health` (the aggregated report; 503 when down) to the app.
 */
export function addProbes(app: Hono<HttpEnv>, lifecycle: Lifecycle): void {
  app.get("/livez", function livez() {
    return livezResponse();
  });
  app.get("/readyz", function readyz() {
    return readyzResponse(lifecycle);
  });
  app.get("/health", function health() {
    return healthResponse(lifecycle);
  });
}

/**
 * Answers before the router opens (plugins still starting, or draining before any request
 * arrived): the probes directly, everything else 503, so no route is matched while routes are
 * still being added.
 */
export function beforeOpen(request: Request, lifecycle: Lifecycle): Response | Promise<Response> {
  const path = normalizePath(request.url);
  if (path === "/livez") return new Response('{"status":"alive"}', { headers: NO_STORE });
  if (path === "/readyz") return notReady(lifecycle);
  return problemResponse("TF_HTTP_UNAVAILABLE", {
    detail: lifecycle.phase === "starting" ? "The service is starting" : "The service is shutting down",
    headers: { "retry-after": "1" },
  });
}
