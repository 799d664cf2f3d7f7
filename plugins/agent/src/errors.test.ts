import { expect, test } from "bun:test";
import { errorsContract } from "@twelvefold/testing";
import { agentErrors, problemOf } from "./errors.ts";

const runId = "0b7c3a8e-2f1d-4c55-9a3e-5d1f0e9b7c21";

errorsContract("agent", agentErrors, {
  TF_AGENT_NOT_FOUND: { runId },
  TF_AGENT_BAD_REQUEST: { reason: "a run needs a user" },
  TF_AGENT_TOO_MANY_RUNS: { max: 4 },
  TF_AGENT_APPROVAL_INVALID: { reason: "the request expired" },
  TF_AGENT_APPROVAL_DECIDED: { callId: "call_1" },
  TF_AGENT_RUN_BUSY: { runId },
  TF_AGENT_RUN_FAILED: { runId, reason: "the model is down" },
  TF_AGENT_CONFIG: { reason: "no loop" },
});

test("an agent error answers as problem+json with its status, a stable type, and Retry-After on a 429", async () => {
  const busy = problemOf(agentErrors.create("TF_AGENT_TOO_MANY_RUNS", { max: 2 }));
  expect(busy.status).toBe(429);
  expect(busy.headers.get("retry-after")).toBe("1");
  expect(await busy.json()).toEqual({
    type: "https://twelvefold.dev/problems/agent-too-many-runs",
    title: "Too many runs",
    status: 429,
    code: "TF_AGENT_TOO_MANY_RUNS",
    detail: "agent: this user already has 2 run(s) in flight: wait for one to end",
  });
  const missing = problemOf(agentErrors.create("TF_AGENT_NOT_FOUND", { runId }));
  expect([missing.status, missing.headers.get("retry-after")]).toEqual([404, null]);
});
