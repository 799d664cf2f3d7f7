/**
 * @module
 * The http plugin: a Hono server bound to PORT and HOST through the kernel's runtime adapter,
 * with `/livez`, `/readyz` and `/health`, request ids, problem+json errors, body and time limits,
 * security headers, CORS, JWT authentication, tracing and RED metrics when those plugins are
 * present, and a graceful drain that loses no request on keep-alive connections.
 *
 * @example
 * ```ts
 * import { createApp, definePlugin } from "@twelvefold/kernel";
 * import { HttpApp, http, readJson } from "@twelvefold/http";
 * import * as v from "valibot";
 *
 * const Note = v.object({ text: v.string() });
 * const notes = definePlugin({
 *   name: "notes",
 *   requires: [HttpApp],
 *   start({ get }) {
 *     get(HttpApp).post("/notes", async (c) => c.json(await readJson(c, Note), 201));
 *   },
 * });
 *
 * await createApp({ name: "notes", plugins: [http(), notes] }).run();
 * ```
 */

/**
 * @deprecated The problem+json builder and its types moved beside the kernel's http contract:
 * import them from `@twelvefold/kernel`. These re-exports go once every caller has moved.
 */
/** The bound address the http plugin provides; the token is the kernel's (`twelvefold/HttpListener`). */
export {
  HttpListener,
  PROBLEM_BASE,
  PROBLEM_JSON,
  type Problem,
  type ProblemOptions,
  problemResponse,
  problemTypes,
} from "@twelvefold/kernel";
export { type AuthOptions, createAuth, HttpAuth } from "./src/auth.ts";
export { type ProxyCheck, trustedProxies } from "./src/client-ip.ts";
export { type HttpConfig, httpConfig } from "./src/config.ts";
export { type HttpEnv, requestFacts } from "./src/core.ts";
export {
  DrainDeadlineError,
  HttpError,
  type HttpErrorCode,
  type HttpErrorOptions,
  httpErrors,
  type InvalidParam,
} from "./src/errors.ts";
export {
  type ManagementConfig,
  ManagementListener,
  type ManagementOptions,
  management,
  managementConfig,
  runsManagement,
} from "./src/management.ts";
export { honoMiddleware } from "./src/middleware.ts";
export { HttpApp, type HttpOptions, http } from "./src/plugin.ts";
export { errorResponse, invalidParams, validationError } from "./src/problem.ts";
export {
  type EventSource,
  type EventStream,
  type EventStreamOptions,
  eventStream,
  formatEvent,
  type ServerEvent,
} from "./src/sse.ts";
export { isJsonType, readJson } from "./src/validate.ts";
