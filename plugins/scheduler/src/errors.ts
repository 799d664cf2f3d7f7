/** The scheduler's error catalogue: one table of codes and message templates, each naming the job. */
import { defineErrors, quote, TwelvefoldError } from "@twelvefold/kernel";

const table = {
  TF_SCHEDULER_INVALID_JOB: {
    message: (f: { job: string; problem: string }) => `scheduler: job ${quote(f.job)}: ${f.problem}`,
  },
  TF_SCHEDULER_DUPLICATE_JOB: { message: (f: { job: string }) => `scheduler: two jobs are named ${quote(f.job)}` },
  TF_SCHEDULER_UNKNOWN_JOB: {
    message: (f: { job: string; known: readonly string[] }) =>
      `scheduler: no job named ${quote(f.job)}: known jobs: ${f.known.map(quote).join(", ") || "none"}`,
  },
  TF_SCHEDULER_JOB_RUNNING: {
    message: (f: { job: string }) => `scheduler: job ${quote(f.job)} is already running: try again later`,
    // The run in hand ends; then the same request succeeds.
    retryable: true,
  },
} as const;

/** Stable codes of the scheduler's errors. */
export type SchedulerErrorCode = keyof typeof table;

/**
 * An error of the scheduler: a job definition it refuses, or a `run-job` it cannot do.
 *
 * @example
 * ```ts
 * import { SchedulerError } from "@twelvefold/scheduler";
 * const busy = (error: unknown) => error instanceof SchedulerError && error.code === "TF_SCHEDULER_JOB_RUNNING";
 * ```
 */
export class SchedulerError extends TwelvefoldError<SchedulerErrorCode> {
  override name = "SchedulerError";
}

/** The scheduler's catalogue: `schedulerErrors.create(code, facts, options)`. */
export const schedulerErrors = defineErrors(table, SchedulerError);
