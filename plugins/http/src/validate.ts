import type { Context } from "hono";
import * as v from "valibot";
import { HttpError, httpErrors } from "./errors.ts";
import { validationError } from "./problem.ts";

/**
 * Whether a Content-Type names JSON: `application/json` or any `+json` type (RFC 6839), parameters
 * such as `charset` aside, in any letter case.
 */
export function isJsonType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const semicolon = contentType.indexOf(";");
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  const slash = type.indexOf("/");
  return slash > 0 && (type === "application/json" || type.endsWith("+json"));
}

/**
 * Reads the JSON body and validates it with a valibot schema. The request must say its body is
 * JSON (`Content-Type: application/json` or a `+json` type), else it is a 415 before the body is
 * read: a cross-site form or `text/plain` POST needs no CORS preflight, so accepting JSON under
 * any type would let another site post to a JSON route with the user's cookies. Malformed JSON is
 * a 400, a body that fails the schema a 422 listing each failing field (`invalid_params`).
 *
 * @example
 * ```ts
 * const Message = v.object({ text: v.pipe(v.string(), v.minLength(1)) });
 * app.post("/messages", async (c) => c.json(await readJson(c, Message), 201));
 * ```
 */
export async function readJson<S extends v.GenericSchema>(c: Context, schema: S): Promise<v.InferOutput<S>> {
  const contentType = c.req.header("content-type") ?? null;
  if (!isJsonType(contentType)) {
    throw httpErrors.create(
      "TF_HTTP_UNSUPPORTED_MEDIA_TYPE",
      { expected: "application/json", got: (contentType ?? "").slice(0, 100) },
      { detail: "The request body must be JSON, sent as application/json or a +json type" },
    );
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (error) {
    // A body over the limit (counted as it was read) stays a 413.
    if (error instanceof HttpError) throw error;
    throw httpErrors.create(
      "TF_HTTP_BAD_REQUEST",
      { reason: "request body is not valid JSON" },
      { detail: "The request body is not valid JSON", cause: error },
    );
  }
  const result = v.safeParse(schema, body);
  if (!result.success) throw validationError(result.issues);
  return result.output;
}
