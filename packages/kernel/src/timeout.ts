import { PluginTimeoutError } from "./errors.ts";

/**
 * Runs `work` under a time budget. On timeout, `controller` (if given) is aborted so the work
 * can give up, and the promise rejects with a {@link PluginTimeoutError} naming the plugin.
 */
export async function withTimeout<T>(
  work: () => T | Promise<T>,
  options: {
    plugin: string;
    phase: "start" | "stop" | "drain" | "health";
    timeoutMs: number;
    controller?: AbortController;
  },
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new PluginTimeoutError(options.plugin, options.phase, options.timeoutMs);
      options.controller?.abort(error);
      reject(error);
    }, options.timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(work), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
