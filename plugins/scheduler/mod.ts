/**
 * @module
 * The scheduler plugin: cron jobs (croner) in the `scheduler` process type, each occurrence fired
 * once across every replica through the kernel's Lock contract, overlapping runs skipped,
 * per-job catch-up of missed occurrences, a span, a log line and metrics per run, a drain on
 * SIGTERM, and the admin commands `jobs` and `run-job <name>`.
 *
 * @example
 * ```ts
 * import { createApp } from "@twelvefold/kernel";
 * import { defineCronJob, scheduler } from "@twelvefold/scheduler";
 *
 * const purge = defineCronJob({
 *   name: "purge-sessions",
 *   schedule: "0 3 * * *",
 *   catchUp: "latest",
 *   async run({ signal, logger }) {
 *     logger.info("purged", { removed: await purgeOldSessions({ signal }) });
 *   },
 * });
 *
 * await createApp({ name: "agent", plugins: [scheduler({ jobs: [purge] })] }).run(); // bun main.ts scheduler
 * declare function purgeOldSessions(options: { signal: AbortSignal }): Promise<number>;
 * ```
 */
export { type Clock, sleepUntil, systemClock } from "./src/clock.ts";
export { isTimeZone, schedulerConfig } from "./src/config.ts";
export { SchedulerError, type SchedulerErrorCode, schedulerErrors } from "./src/errors.ts";
export {
  type CatchUpPolicy,
  type CronJob,
  type CronJobContext,
  type CronJobDefinition,
  defineCronJob,
  type RunTrigger,
} from "./src/job.ts";
export { type SchedulerOptions, SchedulerStatus, scheduler } from "./src/plugin.ts";
export { type JobStatus, type RunOutcome, type RunResult, Schedule, type ScheduleOptions } from "./src/schedule.ts";
