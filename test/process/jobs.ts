/** The fixture app's jobs, shared with the tests that enqueue them. */

import * as v from "valibot";
import { defineJob } from "../../packages/kernel/mod.ts";
import { defineCronJob } from "../../plugins/scheduler/mod.ts";

/** Sleeps `ms`, or until `signal` aborts (then rejects with its reason). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** A job that takes `ms`, logging when it starts and when it finishes. */
export const work = defineJob({
  topic: "fixture.work",
  payload: v.object({ id: v.string(), ms: v.pipe(v.number(), v.integer(), v.minValue(0)) }),
  async run({ id, ms }, { logger, message, signal }) {
    logger.info("job started", { id, attempt: message.attempt, traceparent: message.headers.traceparent ?? null });
    await pause(ms, signal);
    logger.info("job finished", { id, attempt: message.attempt });
  },
});

/** A cron job firing every second, logging the occurrence it fired. */
export const tick = defineCronJob({
  name: "tick",
  schedule: "* * * * * *",
  run({ scheduledAt, logger }) {
    logger.info("tick fired", { scheduled_at: scheduledAt.toISOString() });
  },
});
