import type { Logger, ServiceReader, Token } from "@twelvefold/kernel";
import { Cron } from "croner";
import { isTimeZone } from "./config.ts";
import { schedulerErrors } from "./errors.ts";

/**
 * What to do, at start, with occurrences that passed while no scheduler replica was running:
 * `none` skips them (the default), `latest` runs the most recent one once, `all` runs each in
 * order. Only occurrences within the job's `catchUpWindowMs` are considered.
 */
export type CatchUpPolicy = "none" | "latest" | "all";

/** Why a run happened. */
export type RunTrigger = "schedule" | "catch-up" | "manual";

/** What a cron job's `run` receives. */
export interface CronJobContext extends ServiceReader {
  /** The job's name. */
  readonly job: string;
  /** The occurrence this run is for (for a manual run, the time it was asked for). */
  readonly scheduledAt: Date;
  readonly trigger: RunTrigger;
  /** Aborts at the job's `timeoutMs`, or when the shutdown deadline passes: stop then. */
  readonly signal: AbortSignal;
  /** The scheduler's logger with `job` set. */
  readonly logger: Logger;
}

/** The definition passed to {@link defineCronJob}. */
export interface CronJobDefinition {
  /** Unique within the app: it keys the locks, the metrics and `run-job <name>`. */
  readonly name: string;
  /**
   * A cron expression of 5 fields (minute first) or 6 (second first), or a nickname such as
   * `@hourly`; read in SCHEDULER_TZ unless `timezone` is set.
   */
  readonly schedule: string;
  /** An IANA time zone for this job only. */
  readonly timezone?: string;
  /** See {@link CatchUpPolicy}; default `none`. */
  readonly catchUp?: CatchUpPolicy;
  /** How far back catch-up looks, in ms (default 24 hours). */
  readonly catchUpWindowMs?: number;
  /** The run's signal aborts after this many ms (default: no limit but the shutdown deadline). */
  readonly timeoutMs?: number;
  /** Tokens the job reads with `get`; the scheduler starts after their providers. */
  readonly requires?: readonly Token<unknown>[];
  /** Tokens the job reads with `find` when present. */
  readonly optional?: readonly Token<unknown>[];
  run(context: CronJobContext): void | Promise<void>;
}

/** A checked cron job, as `scheduler({ jobs })` takes it. */
export interface CronJob extends Required<Omit<CronJobDefinition, "timezone" | "timeoutMs">> {
  readonly timezone: string | undefined;
  readonly timeoutMs: number | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Parses a job's schedule in `timezone`; throws a SchedulerError naming the job when it is not a cron expression. */
export function parseSchedule(job: Pick<CronJob, "name" | "schedule">, timezone: string | undefined): Cron {
  try {
    return new Cron(job.schedule, { timezone, mode: "5-or-6-parts" });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw schedulerErrors.create(
      "TF_SCHEDULER_INVALID_JOB",
      { job: job.name, problem: `invalid schedule ${JSON.stringify(job.schedule)}: ${reason}` },
      { cause: error },
    );
  }
}

/**
 * Defines a job that runs on a cron schedule in the scheduler process. Each occurrence runs once
 * across every scheduler replica; a run that would overlap the previous run of the same job is
 * skipped and logged. Checks the name and the schedule at once, so a typo fails at import, not at 3 a.m.
 *
 * @example
 * ```ts
 * export const purgeSessions = defineCronJob({
 *   name: "purge-sessions",
 *   schedule: "0 3 * * *", // 03:00 every day, in SCHEDULER_TZ
 *   catchUp: "latest", // if every replica was down at 03:00, run once when one starts
 *   requires: [Database],
 *   async run({ get, signal, logger }) {
 *     const removed = await purgeOlderThan(get(Database), { days: 30, signal });
 *     logger.info("sessions purged", { removed });
 *   },
 * });
 * createApp({ name: "agent", plugins: [scheduler({ jobs: [purgeSessions] })] });
 * ```
 */
export function defineCronJob(definition: CronJobDefinition): CronJob {
  const { name, timezone, catchUp = "none", catchUpWindowMs = DAY_MS, timeoutMs } = definition;
  const refuse = (problem: string): never => {
    throw schedulerErrors.create("TF_SCHEDULER_INVALID_JOB", { job: String(name), problem });
  };
  if (typeof name !== "string" || !/^[a-z0-9][a-z0-9._-]*$/i.test(name)) {
    refuse("invalid name: use letters, digits and - _ .");
  }
  if (timezone !== undefined && !isTimeZone(timezone)) refuse(`unknown time zone "${timezone}"`);
  if (!["none", "latest", "all"].includes(catchUp)) refuse(`catchUp must be none, latest or all: got "${catchUp}"`);
  if (!Number.isInteger(catchUpWindowMs) || catchUpWindowMs < 1000) {
    refuse(`catchUpWindowMs must be an integer of at least 1000: got "${catchUpWindowMs}"`);
  }
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1)) {
    refuse(`timeoutMs must be a positive integer: got "${timeoutMs}"`);
  }
  if (typeof definition.run !== "function") refuse("run must be a function");
  parseSchedule(definition, timezone);
  return Object.freeze({
    name,
    schedule: definition.schedule,
    timezone,
    catchUp,
    catchUpWindowMs,
    timeoutMs,
    requires: definition.requires ?? [],
    optional: definition.optional ?? [],
    run: definition.run,
  });
}
