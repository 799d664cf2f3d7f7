import { problemResponse } from "@twelvefold/kernel";
import type { BaseIssue } from "valibot";
import { type HttpError, httpErrors, type InvalidParam } from "./errors.ts";

// The builder lives beside the kernel's http contract; the plugin's own files import it from here.
export { PROBLEM_JSON, problemResponse } from "@twelvefold/kernel";

/** The response for an {@link HttpError}. */
export function errorResponse(error: HttpError, requestId: string | undefined): Response {
  return problemResponse(error.code, {
    detail: error.detail,
    requestId,
    extensions: error.extensions,
    headers: error.headers,
  });
}

/** Turns valibot issues into one entry per failing field. */
export function invalidParams(issues: readonly BaseIssue<unknown>[]): InvalidParam[] {
  return issues.map((issue) => ({
    name: issue.path?.map((item) => String(item.key)).join(".") ?? "",
    reason: issue.message,
  }));
}

/**
 * A 422 {@link HttpError} listing each failing field, from valibot issues.
 *
 * @example
 * ```ts
 * const result = v.safeParse(schema, body);
 * if (!result.success) throw validationError(result.issues);
 * ```
 */
export function validationError(issues: readonly BaseIssue<unknown>[]): HttpError {
  const params = invalidParams(issues);
  return httpErrors.create(
    "TF_HTTP_VALIDATION",
    { count: params.length },
    {
      detail: `The request has ${params.length} invalid field${params.length === 1 ? "" : "s"}`,
      extensions: { invalid_params: params },
    },
  );
}
