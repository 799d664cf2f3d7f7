import { type HttpError, httpErrors } from "./errors.ts";

/** The error a body over the limit reads as: the http plugin answers it with a problem+json 413. */
export function bodyTooLarge(limit: number): HttpError {
  return httpErrors.create("TF_HTTP_BODY_TOO_LARGE", { limit }, { detail: `The request body exceeds ${limit} bytes` });
}

/**
 * The request with its body counted as it is read: past `limit` bytes the read fails with
 * {@link bodyTooLarge}, so whatever reads it (`c.req.json()`, `readJson`) ends in a problem+json
 * 413. For bodies that declare no length (chunked), which the Content-Length check cannot see;
 * the runtime's own cap sits above the limit and would otherwise let them through up to it.
 */
export function limitBody(request: Request, limit: number): Request {
  const body = request.body;
  if (body === null) return request;
  let seen = 0;
  const counted = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(bodyTooLarge(limit));
        else controller.enqueue(chunk);
      },
    }),
  );
  // From its parts rather than `new Request(request, ...)`: on Node, @hono/node-server's request is
  // its own lightweight class, which undici's constructor does not accept as an input.
  const init = {
    method: request.method,
    headers: request.headers,
    body: counted,
    signal: request.signal,
    duplex: "half",
  };
  return new Request(request.url, init as RequestInit);
}
