/**
 * The agent plugin's error catalogue. Each code has the HTTP status its problem+json answer
 * carries, so an app that calls the {@link AgentRuns} API from its own routes answers the same way
 * the plugin's routes do (see {@link problemOf}).
 */
import { defineErrors, quote, TwelvefoldError, type TwelvefoldErrorOptions } from "@twelvefold/kernel";

const table = {
  TF_AGENT_NOT_FOUND: {
    status: 404,
    title: "Not found",
    message: (f: { runId: string }) => `agent: no such run: ${quote(f.runId)}`,
  },
  TF_AGENT_BAD_REQUEST: {
    status: 400,
    title: "Bad request",
    message: (f: { reason: string }) => `agent: ${f.reason}`,
  },
  TF_AGENT_TOO_MANY_RUNS: {
    status: 429,
    title: "Too many runs",
    message: (f: { max: number }) => `agent: this user already has ${f.max} run(s) in flight: wait for one to end`,
    retryable: true,
  },
  TF_AGENT_APPROVAL_INVALID: {
    status: 403,
    title: "Approval refused",
    message: (f: { reason: string }) => `agent: approval refused: ${f.reason}`,
  },
  TF_AGENT_APPROVAL_DECIDED: {
    status: 409,
    title: "Already decided",
    message: (f: { callId: string }) => `agent: call ${quote(f.callId)} was already decided`,
  },
  TF_AGENT_RUN_BUSY: {
    status: 503,
    title: "Run busy",
    message: (f: { runId: string }) => `agent: run ${quote(f.runId)} is held by another worker`,
    retryable: true,
  },
  TF_AGENT_RUN_FAILED: {
    status: 500,
    title: "Run failed",
    message: (f: { runId: string; reason: string }) => `agent: run ${quote(f.runId)} failed: ${f.reason}`,
  },
  TF_AGENT_CONFIG: {
    status: 500,
    title: "Internal server error",
    message: (f: { reason: string }) => `agent: ${f.reason}`,
  },
} as const;

/** Stable codes of the agent plugin's errors. */
export type AgentErrorCode = keyof typeof table;

/**
 * An error of the agent plugin: `status` is the HTTP status of its problem+json answer.
 *
 * @example
 * ```ts
 * import { AgentError, problemOf } from "@twelvefold/agent";
 * try {
 *   await runs.start({ user, text });
 * } catch (error) {
 *   if (error instanceof AgentError) return problemOf(error);
 *   throw error;
 * }
 * ```
 */
export class AgentError extends TwelvefoldError<AgentErrorCode> {
  override name = "AgentError";
  readonly status: number;
  constructor(code: AgentErrorCode, message: string, options: TwelvefoldErrorOptions = {}) {
    super(code, message, options);
    this.status = table[code].status;
  }
}

/** The agent plugin's catalogue: `agentErrors.create(code, facts)`. */
export const agentErrors = defineErrors(table, AgentError);

/**
 * The `application/problem+json` answer (RFC 9457) for an {@link AgentError}, with `Retry-After`
 * on a 429. The plugin cannot use the http plugin's helper (plugins never import each other), so
 * it writes the few fields itself, with the same `type` base.
 *
 * @example
 * ```ts
 * return problemOf(agentErrors.create("TF_AGENT_NOT_FOUND", { runId }));
 * ```
 */
export function problemOf(error: AgentError): Response {
  const { title } = table[error.code];
  const slug = error.code.slice("TF_AGENT_".length).toLowerCase().replaceAll("_", "-");
  const body = {
    type: `https://twelvefold.dev/problems/agent-${slug}`,
    title,
    status: error.status,
    code: error.code,
    detail: error.message,
  };
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (error.status === 429) headers["retry-after"] = "1";
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
