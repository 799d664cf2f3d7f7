import {
  type Counter,
  failSpan,
  type Histogram,
  type Lease,
  type Lock,
  type Logger,
  type Meter,
  noopTracer,
  type ServiceReader,
  type Tracer,
} from "@twelvefold/kernel";
import type { Cron } from "croner";
import { type Clock, sleepUntil } from "./clock.ts";
import { schedulerErrors } from "./errors.ts";
import { type CronJob, type CronJobContext, parseSchedule, type RunTrigger } from "./job.ts";

/** How a run ended: `timeout` when the job's `timeoutMs` aborted it, `aborted` when the shutdown deadline did. */
export type RunOutcome = "ok" | "error" | "timeout" | "aborted";

/** What {@link Schedule.runNow} reports. */
export interface RunResult {
  readonly outcome: RunOutcome;
  readonly durationMs: number;
  /** The job's error, when it failed. */
  readonly error?: unknown;
}

/** One job as `jobs` lists it and the health check reports it. */
export interface JobStatus {
  readonly name: string;
  readonly schedule: string;
  readonly timezone: string;
  readonly catchUp: CronJob["catchUp"];
  /** The next occurrence, or `undefined` when the schedule has none left. */
  readonly next: Date | undefined;
  readonly running: boolean;
}

/** Options for {@link Schedule}. */
export interface ScheduleOptions {
  readonly jobs: readonly CronJob[];
  /** Keeps each occurrence to one replica, and a job's runs from overlapping across replicas. */
  readonly lock: Lock;
  readonly clock: Clock;
  /** The zone of jobs without their own (SCHEDULER_TZ). */
  readonly timezone: string;
  /** How long an occurrence's lock lives (SCHEDULER_LOCK_TTL_MS); never released, left to expire. */
  readonly lockTtlMs: number;
  /** Starts every lock key, e.g. `agent:scheduler`, so apps sharing a Redis do not collide. */
  readonly keyPrefix: string;
  readonly logger: Logger;
  readonly tracer?: Tracer;
  readonly meter?: Meter;
  /** What jobs read with `get` and `find`. */
  readonly services: ServiceReader;
  /** Time to live of a job's running lock, renewed every third of it while the run goes (default 30 s). */
  readonly runLockTtlMs?: number;
}

interface Running {
  readonly scheduledAt: Date;
  readonly startedAt: number;
  readonly controller: AbortController;
}

interface Entry {
  readonly job: CronJob;
  readonly cron: Cron;
  readonly timezone: string;
  /** The occurrence lock's TTL: at least the catch-up window, so a fired occurrence is still known then. */
  readonly ttlMs: number;
  next: Date | undefined;
  /** Set (to "reserved" while its running lock is being taken) from the moment a run is decided. */
  running: Running | "reserved" | undefined;
}

interface Metrics {
  readonly runs: Counter;
  readonly duration: Histogram;
  readonly skipped: Counter;
}

/** Occurrences looked at, at most, when catching up or when the process fell behind. */
const MAX_OCCURRENCES = 10_000;
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/**
 * The scheduler's engine: one loop per job that sleeps until the next occurrence, takes that
 * occurrence's lock (so one replica fires it) and runs the job, unless its previous run is still
 * going. Time comes from an injected {@link Clock}, so tests move it by hand.
 *
 * @example
 * ```ts
 * const schedule = new Schedule({ jobs, lock, clock: systemClock, timezone: "UTC", lockTtlMs: 600_000,
 *   keyPrefix: "agent:scheduler", logger, services });
 * schedule.start();
 * await schedule.drain(AbortSignal.timeout(20_000));
 * ```
 */
export class Schedule {
  readonly #options: ScheduleOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #stopping = new AbortController();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #loops: Promise<void>[] = [];
  readonly #tracer: Tracer;
  readonly #metrics: Metrics | undefined;
  readonly #runLockTtlMs: number;
  #started = false;

  constructor(options: ScheduleOptions) {
    this.#options = options;
    this.#tracer = options.tracer ?? noopTracer;
    this.#runLockTtlMs = options.runLockTtlMs ?? 30_000;
    for (const job of options.jobs) {
      if (this.#entries.has(job.name)) {
        throw schedulerErrors.create("TF_SCHEDULER_DUPLICATE_JOB", { job: job.name });
      }
      const timezone = job.timezone ?? options.timezone;
      const ttlMs = job.catchUp === "none" ? options.lockTtlMs : Math.max(options.lockTtlMs, job.catchUpWindowMs);
      this.#entries.set(job.name, {
        job,
        cron: parseSchedule(job, timezone),
        timezone,
        ttlMs,
        next: undefined,
        running: undefined,
      });
    }
    this.#metrics = options.meter && this.#registerMetrics(options.meter);
  }

  /** Every job with its next occurrence after `from` (default: now), in declaration order. */
  jobs(from: number = this.#options.clock.now()): JobStatus[] {
    return [...this.#entries.values()].map((entry) => ({
      name: entry.job.name,
      schedule: entry.job.schedule,
      timezone: entry.timezone,
      catchUp: entry.job.catchUp,
      next: (this.#started ? entry.next : undefined) ?? entry.cron.nextRun(new Date(from)) ?? undefined,
      running: entry.running !== undefined,
    }));
  }

  /** Catches up where a job asks for it, then arms every job's loop. Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const entry of this.#entries.values()) {
      if (entry.job.catchUp !== "none") this.#track(this.#catchUp(entry));
      this.#loops.push(this.#loop(entry));
    }
  }

  /**
   * Runs a job now, outside its schedule (`run-job <name>`). It takes the job's running lock, so
   * it never overlaps a scheduled run on any replica: a SchedulerError when one is going.
   */
  async runNow(name: string, signal?: AbortSignal): Promise<RunResult> {
    const entry = this.#entries.get(name);
    if (entry === undefined) {
      throw schedulerErrors.create("TF_SCHEDULER_UNKNOWN_JOB", { job: name, known: [...this.#entries.keys()] });
    }
    const result = await this.#begin(entry, new Date(this.#options.clock.now()), "manual", signal);
    if (result === undefined) {
      throw schedulerErrors.create("TF_SCHEDULER_JOB_RUNNING", { job: name });
    }
    return result;
  }

  /**
   * Takes no new occurrence, waits for the runs in hand; when `deadline` aborts first, aborts
   * the runs still going and names each in the log.
   */
  async drain(deadline: AbortSignal): Promise<void> {
    this.#stopping.abort();
    await Promise.all(this.#loops);
    const running = this.#running();
    if (running.length > 0) this.#options.logger.info("waiting for running jobs", { jobs: running.map(([n]) => n) });
    const deadlinePassed = new Promise<void>((resolve) => {
      if (deadline.aborted) resolve();
      deadline.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.race([this.#settled(), deadlinePassed]);
    if (!deadline.aborted) return;
    for (const [job, run] of this.#running()) {
      this.#options.logger.warn("job still running at the shutdown deadline: aborting it", {
        job,
        scheduled_at: run.scheduledAt.toISOString(),
        running_ms: this.#options.clock.now() - run.startedAt,
      });
      run.controller.abort(new Error("scheduler: shutdown deadline passed"));
    }
  }

  /** Stops every loop and aborts any run still going. Idempotent. */
  stop(): void {
    this.#stopping.abort();
    for (const [, run] of this.#running()) run.controller.abort(new Error("scheduler: stopped"));
  }

  #running(): Array<[string, Running]> {
    const out: Array<[string, Running]> = [];
    for (const [name, entry] of this.#entries) {
      if (entry.running !== undefined && entry.running !== "reserved") out.push([name, entry.running]);
    }
    return out;
  }

  #track(work: Promise<unknown>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async #loop(entry: Entry): Promise<void> {
    const { clock, logger } = this.#options;
    const signal = this.#stopping.signal;
    let cursor = clock.now();
    while (!signal.aborted) {
      const next = entry.cron.nextRun(new Date(cursor)) ?? undefined;
      entry.next = next;
      if (next === undefined) {
        logger.info("job has no further occurrence", { job: entry.job.name });
        return;
      }
      await sleepUntil(clock, next.getTime(), signal);
      if (signal.aborted) return;
      // Woken late (a blocked event loop, a suspended host): fire only the latest occurrence due.
      const now = clock.now();
      let due = next;
      let missed = 0;
      for (let later = entry.cron.nextRun(due); later && later.getTime() <= now; later = entry.cron.nextRun(later)) {
        due = later;
        if (++missed >= MAX_OCCURRENCES) break;
      }
      if (missed > 0) {
        logger.warn("occurrences passed while the scheduler was behind: firing the latest only", {
          job: entry.job.name,
          missed,
          scheduled_at: due.toISOString(),
        });
        this.#metrics?.skipped.inc({ cron_job: entry.job.name, reason: "behind" }, missed);
      }
      cursor = missed >= MAX_OCCURRENCES ? now : due.getTime();
      this.#track(this.#occur(entry, due, "schedule"));
    }
  }

  async #catchUp(entry: Entry): Promise<void> {
    const now = this.#options.clock.now();
    const missed: Date[] = [];
    let at = entry.cron.nextRun(new Date(now - entry.job.catchUpWindowMs));
    while (at && at.getTime() <= now && missed.length < MAX_OCCURRENCES) {
      missed.push(at);
      at = entry.cron.nextRun(at);
    }
    for (const occurrence of entry.job.catchUp === "latest" ? missed.slice(-1) : missed) {
      if (this.#stopping.signal.aborted) return;
      await this.#occur(entry, occurrence, "catch-up");
    }
  }

  /** Takes the occurrence's lock; the replica that gets it decides whether the job runs. */
  async #occur(entry: Entry, scheduledAt: Date, trigger: RunTrigger): Promise<void> {
    const { lock, logger, keyPrefix } = this.#options;
    const fields = { job: entry.job.name, scheduled_at: scheduledAt.toISOString(), trigger };
    let lease: Lease | undefined;
    try {
      lease = await lock.acquire(`${keyPrefix}:${entry.job.name}:${scheduledAt.toISOString()}`, entry.ttlMs);
    } catch (error) {
      logger.error("occurrence lock failed: run skipped", { ...fields, error });
      this.#metrics?.skipped.inc({ cron_job: entry.job.name, reason: "lock_error" });
      return;
    }
    // Another replica fired it; the lock is left to expire, so a lagging clock cannot fire it again.
    if (lease === undefined) {
      logger.debug("occurrence taken by another replica", fields);
      return;
    }
    await this.#begin(entry, scheduledAt, trigger);
  }

  /** Runs the job unless a run of it is going here or on another replica; `undefined` when skipped. */
  async #begin(
    entry: Entry,
    scheduledAt: Date,
    trigger: RunTrigger,
    external?: AbortSignal,
  ): Promise<RunResult | undefined> {
    const { lock, logger, keyPrefix } = this.#options;
    const name = entry.job.name;
    const fields = { job: name, scheduled_at: scheduledAt.toISOString(), trigger };
    const skip = (where: string, extra: Record<string, unknown> = {}) => {
      logger.warn(`run skipped: the previous run is still going${where}`, { ...fields, ...extra });
      this.#metrics?.skipped.inc({ cron_job: name, reason: "overlap" });
      return undefined;
    };
    const previous = entry.running;
    if (previous !== undefined) {
      return skip("", previous === "reserved" ? {} : { previous_scheduled_at: previous.scheduledAt.toISOString() });
    }
    entry.running = "reserved";
    let runLease: Lease | undefined;
    try {
      runLease = await lock.acquire(`${keyPrefix}:${name}:running`, this.#runLockTtlMs);
    } catch (error) {
      entry.running = undefined;
      logger.error("running lock failed: run skipped", { ...fields, error });
      this.#metrics?.skipped.inc({ cron_job: name, reason: "lock_error" });
      return undefined;
    }
    if (runLease === undefined) {
      entry.running = undefined;
      return skip(" on another replica");
    }
    return this.#run(entry, scheduledAt, trigger, runLease, external);
  }

  async #run(
    entry: Entry,
    scheduledAt: Date,
    trigger: RunTrigger,
    runLease: Lease,
    external: AbortSignal | undefined,
  ): Promise<RunResult> {
    const { clock, lock, logger, services } = this.#options;
    const { job } = entry;
    const controller = new AbortController();
    const timeout = job.timeoutMs === undefined ? undefined : AbortSignal.timeout(job.timeoutMs);
    const signal = AbortSignal.any([controller.signal, ...(timeout ? [timeout] : []), ...(external ? [external] : [])]);
    const startedAt = clock.now();
    entry.running = { scheduledAt, startedAt, controller };
    const heartbeat = this.#heartbeat(runLease, job.name);
    const span = this.#tracer.startSpan(`scheduler run ${job.name}`, {
      kind: "internal",
      root: true,
      attributes: {
        "scheduler.job": job.name,
        "scheduler.schedule": job.schedule,
        "scheduler.scheduled_at": scheduledAt.toISOString(),
        "scheduler.trigger": trigger,
      },
    });
    const jobLogger = logger.child({ job: job.name });
    const context: CronJobContext = {
      job: job.name,
      scheduledAt,
      trigger,
      signal,
      logger: jobLogger,
      get: services.get,
      find: services.find,
    };
    let outcome: RunOutcome = "ok";
    let failure: unknown;
    try {
      await this.#tracer.withSpan(span, () => job.run(context));
    } catch (error) {
      failure = error;
      outcome = !signal.aborted ? "error" : timeout?.aborted ? "timeout" : "aborted";
      failSpan(span, error);
    } finally {
      span.setAttribute("scheduler.outcome", outcome);
      span.end();
      heartbeat.abort();
      await lock.release(runLease).catch((error: unknown) => logger.warn("running lock release failed", { error }));
      entry.running = undefined;
    }
    const durationMs = clock.now() - startedAt;
    this.#metrics?.runs.inc({ cron_job: job.name, outcome });
    this.#metrics?.duration.observe({ cron_job: job.name }, durationMs / 1000);
    const fields = {
      job: job.name,
      scheduled_at: scheduledAt.toISOString(),
      trigger,
      outcome,
      duration_ms: durationMs,
      lag_ms: startedAt - scheduledAt.getTime(),
    };
    if (outcome === "ok") logger.info("job run", fields);
    else logger.error("job run failed", { ...fields, error: failure });
    return failure === undefined ? { outcome, durationMs } : { outcome, durationMs, error: failure };
  }

  /** Renews the running lock every third of its TTL until the returned controller aborts. */
  #heartbeat(lease: Lease, job: string): AbortController {
    const done = new AbortController();
    const { clock, lock, logger } = this.#options;
    const every = Math.max(1, Math.floor(this.#runLockTtlMs / 3));
    void (async () => {
      for (;;) {
        await clock.sleep(every, done.signal);
        if (done.signal.aborted) return;
        const renewed = await lock.extend(lease, this.#runLockTtlMs).catch(() => undefined);
        if (renewed === undefined) {
          logger.warn("running lock lost: another replica may start an overlapping run", { job });
          return;
        }
      }
    })();
    return done;
  }

  // The label is `cron_job`, not `job`: Prometheus keeps `job` for the scrape job and would store ours as `exported_job`.
  #registerMetrics(meter: Meter): Metrics {
    meter.gauge({
      name: "scheduler_next_run_timestamp_seconds",
      help: "When each job runs next, in Unix seconds.",
      labelNames: ["cron_job"],
      collect: (gauge) => {
        for (const status of this.jobs()) {
          if (status.next) gauge.set({ cron_job: status.name }, status.next.getTime() / 1000);
        }
      },
    });
    return {
      runs: meter.counter({
        name: "scheduler_runs_total",
        help: "Scheduled job runs, by job and outcome (ok, error, timeout, aborted).",
        labelNames: ["cron_job", "outcome"],
      }),
      duration: meter.histogram({
        name: "scheduler_run_duration_seconds",
        help: "Time a scheduled job run took, by job, in seconds.",
        labelNames: ["cron_job"],
        buckets: DURATION_BUCKETS,
      }),
      skipped: meter.counter({
        name: "scheduler_skipped_total",
        help: "Occurrences not run, by job and reason (overlap, behind, lock_error).",
        labelNames: ["cron_job", "reason"],
      }),
    };
  }
}
