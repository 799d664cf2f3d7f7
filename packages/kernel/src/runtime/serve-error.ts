import type { ServeOptions } from "./types.ts";

/** The answer to a request whose handler threw: the server's `onError`, else a bare 500. */
export function serveError(options: ServeOptions): (error: unknown) => Response {
  const onError = options.onError;
  return (error) => {
    try {
      if (onError) return onError(error);
    } catch {
      // An error handler that fails still must not reach the runtime's error page.
    }
    return new Response(null, { status: 500 });
  };
}
