import {
  AppInfo,
  type ConfigOptions,
  defineCommand,
  definePlugin,
  embeddedInfo,
  Lock,
  type Logger,
  Meter,
  type Plugin,
  type ServiceReader,
  type Token,
  Tracer,
  token,
} from "@twelvefold/kernel";
import { memoryLock } from "@twelvefold/kernel/memory";
import * as v from "valibot";
import { type Clock, systemClock } from "./clock.ts";
import { type SchedulerConfig, schedulerConfig } from "./config.ts";
import { schedulerErrors } from "./errors.ts";
import { type CronJob, parseSchedule } from "./job.ts";
import { type JobStatus, Schedule } from "./schedule.ts";

/** What the scheduler tells about its jobs once started (for tests and health pages). */
export interface SchedulerStatus {
  /** Every job with its next occurrence and whether a run of it is going in this process. */
  jobs(): JobStatus[];
}

/** The running scheduler's status, provided by {@link scheduler}. */
export const SchedulerStatus = token<SchedulerStatus>("twelvefold/scheduler/SchedulerStatus");

/** Options of {@link scheduler}: the jobs, a clock for tests, and settings that win over the environment. */
export interface SchedulerOptions extends ConfigOptions<typeof schedulerConfig> {
  readonly jobs?: readonly CronJob[];
  /** Where time comes from (default: the system clock); tests move a manual one. */
  readonly clock?: Clock;
}

function tokensOf(jobs: readonly CronJob[], pick: (job: CronJob) => readonly Token<unknown>[]): Token<unknown>[] {
  return [...new Set(jobs.flatMap(pick))];
}

/** What a Schedule needs from a plugin's or a command's context. */
interface ScheduleHost extends ServiceReader {
  readonly config: SchedulerConfig;
  readonly logger: Logger;
}

/**
 * The Schedule of `jobs` in a plugin's or a command's context. Lock keys start with the app's
 * name, so apps sharing a Redis never take each other's occurrences.
 */
function makeSchedule(jobs: readonly CronJob[], clock: Clock, host: ScheduleHost, lock: Lock): Schedule {
  const { config, logger, get, find } = host;
  return new Schedule({
    jobs,
    lock,
    clock,
    timezone: config.SCHEDULER_TZ,
    lockTtlMs: config.SCHEDULER_LOCK_TTL_MS,
    keyPrefix: `${get(AppInfo).name}:scheduler`,
    logger,
    tracer: find(Tracer),
    meter: find(Meter),
    services: { get, find },
  });
}

/** `jobs`: each job, its schedule and zone, its catch-up policy and its next occurrence. */
function jobsCommand(jobs: readonly CronJob[], clock: Clock) {
  return defineCommand({
    name: "jobs",
    description: "List the scheduled jobs with their next occurrence",
    config: schedulerConfig,
    startsApp: false,
    run({ config, print }) {
      const now = new Date(clock.now());
      const rows = [
        ["NAME", "SCHEDULE", "TIME ZONE", "CATCH-UP", "NEXT"],
        ...jobs.map((job) => {
          const timezone = job.timezone ?? config.SCHEDULER_TZ;
          const next = parseSchedule(job, timezone).nextRun(now);
          return [job.name, job.schedule, timezone, job.catchUp, next ? next.toISOString() : "never"];
        }),
      ];
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length))) ?? [];
      print(
        rows
          .map((r) =>
            r
              .map((cell, i) => cell.padEnd(widths[i] as number))
              .join("  ")
              .trimEnd(),
          )
          .join("\n"),
      );
    },
  });
}

/** `run-job <name>`: runs one job now, in this one-off process, and fails as the job does. */
function runJobCommand(jobs: readonly CronJob[], clock: Clock) {
  const names = jobs.map((job) => job.name);
  return defineCommand({
    name: "run-job",
    description: "Run one scheduled job now, once, and exit",
    args: v.object({
      name: v.picklist(names.length > 0 ? (names as [string, ...string[]]) : [""], `one of ${names.join(", ")}`),
    }),
    positional: ["name"],
    config: schedulerConfig,
    async run(context) {
      const { args, find, signal, print } = context;
      // The admin process has no scheduler: a shared Lock (redis) still keeps this run from
      // overlapping a scheduled one; without it, the memory lock protects this process only.
      const schedule = makeSchedule(jobs, clock, context, find(Lock) ?? memoryLock());
      const result = await schedule.runNow(args.name, signal);
      if (result.outcome !== "ok") throw result.error;
      print(`${args.name}: ok in ${result.durationMs} ms`);
    },
  });
}

/**
 * The scheduler plugin (process type `scheduler`): runs cron jobs, each occurrence once across
 * every scheduler replica. Before firing, a replica takes the Lock for that occurrence (the job's
 * name and scheduled time) with SCHEDULER_LOCK_TTL_MS and never releases it: the lock expires,
 * so a replica whose clock lags cannot fire the same occurrence again. A run that would overlap
 * the job's previous run (here or on another replica) is skipped and logged; occurrences missed
 * while no replica ran are caught up per job (`catchUp`, none by default). Each run gets an
 * AbortSignal, is a span and a log line with its duration and outcome, and is counted in
 * `scheduler_runs_total{job,outcome}`; a failure never ends the process. On SIGTERM it takes no
 * new occurrence and waits for runs in hand up to SHUTDOWN_TIMEOUT_MS.
 *
 * The process is ready once the scheduler holds its schedule (every plugin started, every loop
 * armed). It adds the admin commands `jobs` and `run-job <name>`.
 *
 * @example
 * ```ts
 * import { defineCronJob, scheduler } from "@twelvefold/scheduler";
 *
 * const rollUp = defineCronJob({
 *   name: "roll-up-usage",
 *   schedule: "*\/15 * * * *",
 *   requires: [Database],
 *   run: ({ get, signal }) => rollUpUsage(get(Database), { signal }),
 * });
 * await createApp({ name: "agent", plugins: [redis(), scheduler({ jobs: [rollUp] })] }).run(); // bun main.ts scheduler
 * ```
 */
export function scheduler(options: SchedulerOptions = {}): Plugin {
  const { jobs = [], clock = systemClock, ...settings } = options;
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.name)) throw schedulerErrors.create("TF_SCHEDULER_DUPLICATE_JOB", { job: job.name });
    seen.add(job.name);
  }
  return definePlugin({
    name: "scheduler",
    processes: ["scheduler"],
    config: schedulerConfig,
    options: settings,
    requires: [Lock, ...tokensOf(jobs, (job) => job.requires)],
    optional: [Tracer, Meter, ...tokensOf(jobs, (job) => job.optional)],
    provides: [SchedulerStatus],
    commands: [jobsCommand(jobs, clock), runJobCommand(jobs, clock)],
    start(context) {
      const { config, get, provide, logger, onReady, onDrain, onStop } = context;
      const lock = get(Lock);
      const schedule = makeSchedule(jobs, clock, context, lock);
      if (embeddedInfo(lock)?.name === "memory Lock") {
        logger.info("scheduler on the memory Lock: run one scheduler replica, or configure a shared Lock (redis)");
        const catchingUp = jobs.filter((job) => job.catchUp !== "none").map((job) => job.name);
        if (catchingUp.length > 0) {
          logger.warn("catch-up on the memory Lock runs after every restart: it forgets what already ran", {
            jobs: catchingUp,
          });
        }
      }
      provide(SchedulerStatus, { jobs: () => schedule.jobs() });
      onReady(() => {
        schedule.start();
        logger.info("schedule held", {
          jobs: schedule.jobs().map((job) => ({ name: job.name, next: job.next?.toISOString() ?? null })),
          timezone: config.SCHEDULER_TZ,
        });
      });
      onDrain((deadline) => schedule.drain(deadline));
      onStop(() => schedule.stop());
    },
  });
}
