/**
 * The scheduler's error catalogue: stable `TF_SCHEDULER_...` codes, messages that name the
 * scheduler and the job first.
 */

/** Stable codes of the scheduler's errors. */
export type SchedulerErrorCode =
  | "TF_SCHEDULER_INVALID_JOB"
  | "TF_SCHEDULER_DUPLICATE_JOB"
  | "TF_SCHEDULER_UNKNOWN_JOB"
  | "TF_SCHEDULER_JOB_RUNNING";

/**
 * An error from the scheduler: a job definition it refuses, or a `run-job` it cannot do.
 *
 * @example
 * ```ts
 * try { defineCronJob({ name: "purge", schedule: "61 * * * *", run }); }
 * catch (e) { if (e instanceof SchedulerError && e.code === "TF_SCHEDULER_INVALID_JOB") ... }
 * ```
 */
export class SchedulerError extends Error {
  override name = "SchedulerError";
  readonly code: SchedulerErrorCode;
  constructor(code: SchedulerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
