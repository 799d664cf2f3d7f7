import { expect, test } from "bun:test";
import { errorsContract } from "@twelvefold/testing";
import { HttpError, httpErrors } from "./errors.ts";

errorsContract("http", httpErrors, {
  TF_HTTP_BAD_REQUEST: { reason: "request body is not valid JSON" },
  TF_HTTP_VALIDATION: { count: 2 },
  TF_HTTP_UNAUTHORIZED: { reason: "token expired" },
  TF_HTTP_FORBIDDEN: { reason: "not the owner" },
  TF_HTTP_NOT_FOUND: { reason: 'session "s-1" not found' },
  TF_HTTP_METHOD_NOT_ALLOWED: { reason: "PUT is not allowed here" },
  TF_HTTP_CONFLICT: { reason: 'request "k-1" is still in progress' },
  TF_HTTP_BODY_TOO_LARGE: { limit: 1024 },
  TF_HTTP_UNSUPPORTED_MEDIA_TYPE: { expected: "application/json", got: "text/plain" },
  TF_HTTP_RATE_LIMITED: { reason: 'policy "chat" exhausted' },
  TF_HTTP_UNAVAILABLE: { reason: "identity provider down" },
  TF_HTTP_TIMEOUT: { timeoutMs: 30_000 },
  TF_HTTP_INTERNAL: { reason: "bug" },
  TF_HTTP_DRAIN_DEADLINE: { aborted: 3 },
  TF_HTTP_ROUTES_CLOSED: { what: 'route "GET /late"' },
  TF_HTTP_NO_SIGNING_KEY: undefined,
});

test("an HttpError made by hand gets its status and retryable from the table", () => {
  const error = new HttpError("TF_HTTP_UNAVAILABLE", "http: down for maintenance");
  expect(error.status).toBe(503);
  expect(error.retryable).toBe(true);
  expect(new HttpError("TF_HTTP_NOT_FOUND", "http: no such note").retryable).toBe(false);
});
