import type { Context } from "hono";
import * as v from "valibot";
import { HttpError, httpErrors } from "./errors.ts";
import { validationError } from "./problem.ts";

/**
 * Reads the JSON body and validates it with a valibot schema: malformed JSON is a 400, a body
 * that fails the schema a 422 listing each failing field (`invalid_params`).
 *
 * @example
 * ```ts
 * const Message = v.object({ text: v.pipe(v.string(), v.minLength(1)) });
 * app.post("/messages", async (c) => c.json(await readJson(c, Message), 201));
 * ```
 */
export async function readJson<S extends v.GenericSchema>(c: Context, schema: S): Promise<v.InferOutput<S>> {
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
