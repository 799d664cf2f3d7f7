import type { BaseIssue } from "valibot";
import {
  type HttpError,
  type HttpErrorCode,
  httpErrors,
  type InvalidParam,
  PROBLEM_BASE,
  problemTypes,
} from "./errors.ts";

/** The media type of every error body. */
export const PROBLEM_JSON = "application/problem+json";

/** An RFC 9457 problem object as this plugin writes it. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly code: HttpErrorCode;
  readonly request_id?: string;
  readonly [extension: string]: unknown;
}

/** Options for {@link problemResponse}. */
export interface ProblemOptions {
  readonly detail?: string;
  readonly requestId?: string;
  readonly extensions?: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Builds an `application/problem+json` response for a code: stable `type`, `title` and status,
 * plus the request id so a user can quote it to support.
 *
 * @example
 * ```ts
 * return problemResponse("TF_HTTP_NOT_FOUND", { detail: "No such session" });
 * ```
 */
export function problemResponse(code: HttpErrorCode, options: ProblemOptions = {}): Response {
  const known = problemTypes[code];
  const body: Problem = {
    type: PROBLEM_BASE + known.type,
    title: known.title,
    status: known.status,
    code,
    ...(options.detail === undefined ? {} : { detail: options.detail }),
    ...(options.requestId === undefined ? {} : { request_id: options.requestId }),
    ...options.extensions,
  };
  const headers = new Headers(options.headers);
  headers.set("content-type", PROBLEM_JSON);
  return new Response(JSON.stringify(body), { status: known.status, headers });
}

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
