/**
 * The Bun runtime with its fetch handler watched: records, per request over the socket, whether
 * the http plugin handed Bun a Response or a promise of one.
 */
import type { Runtime } from "@twelvefold/kernel";
import { bunRuntime } from "@twelvefold/kernel/runtime";

export function watchedBunRuntime(): { runtime: Runtime; answers: Array<"response" | "promise"> } {
  const answers: Array<"response" | "promise"> = [];
  const base = bunRuntime();
  const runtime: Runtime = {
    ...base,
    serve: (options) =>
      base.serve({
        ...options,
        fetch(request, info) {
          const answer = options.fetch(request, info);
          answers.push(answer instanceof Promise ? "promise" : "response");
          return answer;
        },
      }),
  };
  return { runtime, answers };
}
