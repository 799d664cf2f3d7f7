import { describe, expect, test } from "bun:test";
import { createLogger, type Lock } from "@twelvefold/kernel";
import { memoryLock } from "@twelvefold/kernel/memory";
import { type CronJobContext, type CronJobDefinition, defineCronJob } from "./job.ts";
import { Schedule, type ScheduleOptions } from "./schedule.ts";
import { ManualClock, settle } from "./testdata/manual-clock.ts";

type Line = Record<string, unknown> & { message: string; level: string };

/** A replica: a Schedule on the given clock and lock, with its log lines captured. */
function replica(
  clock: ManualClock,
  lock: Lock,
  definitions: readonly CronJobDefinition[],
  options: Partial<ScheduleOptions> = {},
) {
  const lines: Line[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line) as Line) });
  const schedule = new Schedule({
    jobs: definitions.map(defineCronJob),
    lock,
    clock,
    timezone: "UTC",
    lockTtlMs: 600_000,
    keyPrefix: "test:scheduler",
    logger,
    services: { get: () => undefined as never, find: () => undefined },
    ...options,
  });
  return { schedule, lines, messages: (text: string) => lines.filter((l) => l.message === text) };
}

/** A job that records each run's occurrence and trigger. */
function recorder(name: string, schedule: string, extra: Partial<CronJobDefinition> = {}) {
  const runs: Array<{ at: string; trigger: string }> = [];
  const definition: CronJobDefinition = {
    name,
    schedule,
    run: (context: CronJobContext) => {
      runs.push({ at: context.scheduledAt.toISOString(), trigger: context.trigger });
    },
    ...extra,
  };
  return { definition, runs };
}

/** A promise the test resolves by hand, to hold a run open. */
function gate() {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, open: () => resolve() };
}

const T0 = "2025-01-01T00:00:00.500Z";

describe("occurrences", () => {
  test("a job runs at each occurrence, not before it, with its scheduled time", async () => {
    const clock = new ManualClock(T0);
    const job = recorder("tick", "*/10 * * * * *");
    const r = replica(clock, memoryLock({ now: () => clock.now() }), [job.definition]);
    r.schedule.start();
    await clock.advance(9_000); // 00:00:09.5
    expect(job.runs).toEqual([]);
    await clock.advance(1_000); // 00:00:10.5
    await clock.advance(20_000); // 00:00:30.5
    expect(job.runs).toEqual([
      { at: "2025-01-01T00:00:10.000Z", trigger: "schedule" },
      { at: "2025-01-01T00:00:20.000Z", trigger: "schedule" },
      { at: "2025-01-01T00:00:30.000Z", trigger: "schedule" },
    ]);
    expect(r.messages("job run").map((l) => [l.job, l.outcome, l.scheduled_at])).toEqual([
      ["tick", "ok", "2025-01-01T00:00:10.000Z"],
      ["tick", "ok", "2025-01-01T00:00:20.000Z"],
      ["tick", "ok", "2025-01-01T00:00:30.000Z"],
    ]);
    await r.schedule.drain(AbortSignal.timeout(1000));
  });

  test("three replicas sharing a lock fire each occurrence exactly once", async () => {
    const clock = new ManualClock(T0);
    const lock = memoryLock({ now: () => clock.now() });
    const runs: string[] = [];
    const definition: CronJobDefinition = {
      name: "report",
      schedule: "* * * * * *",
      run: ({ scheduledAt }) => {
        runs.push(scheduledAt.toISOString());
      },
    };
    const replicas = [1, 2, 3].map(() => replica(clock, lock, [definition]));
    for (const r of replicas) r.schedule.start();
    await clock.advance(5_000);
    expect(runs).toEqual([
      "2025-01-01T00:00:01.000Z",
      "2025-01-01T00:00:02.000Z",
      "2025-01-01T00:00:03.000Z",
      "2025-01-01T00:00:04.000Z",
      "2025-01-01T00:00:05.000Z",
    ]);
    const taken = replicas.flatMap((r) => r.messages("occurrence taken by another replica"));
    expect(taken).toHaveLength(10);
    for (const r of replicas) await r.schedule.drain(AbortSignal.timeout(1000));
  });

  test("a replica whose clock lags fires nothing already fired: the occurrence lock is left to expire", async () => {
    const ahead = new ManualClock(T0);
    const behind = new ManualClock(Date.parse(T0) - 3_000);
    const lock = memoryLock({ now: () => ahead.now() });
    const job = recorder("sync", "* * * * * *");
    const a = replica(ahead, lock, [job.definition]);
    const b = replica(behind, lock, [job.definition]);
    a.schedule.start();
    b.schedule.start();
    for (let i = 0; i < 6; i++) {
      await ahead.advance(1_000);
      await behind.advance(1_000);
    }
    const times = job.runs.map((r) => r.at);
    expect(new Set(times).size).toBe(times.length);
    // b reaches 00:00:01..03 three seconds late: a fired them, and their locks still stand.
    expect(b.messages("occurrence taken by another replica").map((l) => l.scheduled_at)).toEqual([
      "2025-01-01T00:00:01.000Z",
      "2025-01-01T00:00:02.000Z",
      "2025-01-01T00:00:03.000Z",
    ]);
    expect(times.filter((t) => t >= "2025-01-01T00:00:01")).toHaveLength(6);
    await a.schedule.drain(AbortSignal.timeout(1000));
    await b.schedule.drain(AbortSignal.timeout(1000));
  });

  test("the schedule is read in SCHEDULER_TZ, or in the job's own zone", async () => {
    const clock = new ManualClock("2025-01-15T00:00:00Z");
    const lock = memoryLock({ now: () => clock.now() });
    const r = replica(
      clock,
      lock,
      [
        recorder("paris", "0 3 * * *").definition,
        recorder("new-york", "0 3 * * *", { timezone: "America/New_York" }).definition,
      ],
      { timezone: "Europe/Paris" },
    );
    expect(r.schedule.jobs().map((j) => [j.name, j.timezone, j.next?.toISOString()])).toEqual([
      ["paris", "Europe/Paris", "2025-01-15T02:00:00.000Z"],
      ["new-york", "America/New_York", "2025-01-15T08:00:00.000Z"],
    ]);
  });

  test("a process that falls behind fires the latest occurrence once and logs the ones it missed", async () => {
    const clock = new ManualClock(T0);
    const job = recorder("tick", "* * * * * *");
    const r = replica(clock, memoryLock({ now: () => clock.now() }), [job.definition]);
    r.schedule.start();
    await clock.jump(10_000); // 00:00:10.5: occurrences 1..10 are all due at once
    expect(job.runs).toEqual([{ at: "2025-01-01T00:00:10.000Z", trigger: "schedule" }]);
    expect(r.messages("occurrences passed while the scheduler was behind: firing the latest only")[0]).toMatchObject({
      job: "tick",
      missed: 9,
    });
    await clock.advance(1_000);
    expect(job.runs.at(-1)).toEqual({ at: "2025-01-01T00:00:11.000Z", trigger: "schedule" });
    await r.schedule.drain(AbortSignal.timeout(1000));
  });
});

describe("overlap", () => {
  test("a run that would overlap the previous one is skipped and logged, not stacked", async () => {
    const clock = new ManualClock(T0);
    const hold = gate();
    let started = 0;
    let concurrent = 0;
    let most = 0;
    const r = replica(clock, memoryLock({ now: () => clock.now() }), [
      {
        name: "slow",
        schedule: "* * * * * *",
        async run() {
          started++;
          most = Math.max(most, ++concurrent);
          if (started === 1) await hold.promise;
          concurrent--;
        },
      },
    ]);
    r.schedule.start();
    await clock.advance(3_000); // the first run (00:00:01) holds through 00:00:02 and 00:00:03
    expect(started).toBe(1);
    const skipped = r.messages("run skipped: the previous run is still going");
    expect(skipped.map((l) => [l.scheduled_at, l.previous_scheduled_at])).toEqual([
      ["2025-01-01T00:00:02.000Z", "2025-01-01T00:00:01.000Z"],
      ["2025-01-01T00:00:03.000Z", "2025-01-01T00:00:01.000Z"],
    ]);
    hold.open();
    await clock.advance(1_000);
    expect(started).toBe(2);
    expect(most).toBe(1);
    await r.schedule.drain(AbortSignal.timeout(1000));
  });

  test("a run going on another replica makes this replica skip, too", async () => {
    const clock = new ManualClock(T0);
    const lock = memoryLock({ now: () => clock.now() });
    const hold = gate();
    const runs: string[] = [];
    const definition: CronJobDefinition = {
      name: "slow",
      schedule: "* * * * * *",
      async run({ scheduledAt }) {
        runs.push(scheduledAt.toISOString());
        if (runs.length === 1) await hold.promise;
      },
    };
    const a = replica(clock, lock, [definition]);
    const b = replica(clock, lock, [definition]);
    a.schedule.start();
    b.schedule.start();
    await clock.advance(4_000);
    expect(runs).toEqual(["2025-01-01T00:00:01.000Z"]);
    const skips = [...a.lines, ...b.lines].filter((l) => String(l.message).startsWith("run skipped"));
    expect(skips.map((l) => l.scheduled_at).sort()).toEqual([
      "2025-01-01T00:00:02.000Z",
      "2025-01-01T00:00:03.000Z",
      "2025-01-01T00:00:04.000Z",
    ]);
    hold.open();
    await clock.advance(1_000);
    expect(runs).toHaveLength(2);
    await a.schedule.drain(AbortSignal.timeout(1000));
    await b.schedule.drain(AbortSignal.timeout(1000));
  });
});

describe("catch-up", () => {
  // Occurrences at 00:00:10, 00:00:20, 00:00:30 passed before this replica started at 00:00:35.
  const started = "2025-01-01T00:00:35.000Z";

  test("none (the default) skips what passed while no replica ran", async () => {
    const clock = new ManualClock(started);
    const job = recorder("tick", "*/10 * * * * *");
    const r = replica(clock, memoryLock({ now: () => clock.now() }), [job.definition]);
    r.schedule.start();
    await clock.advance(6_000);
    expect(job.runs).toEqual([{ at: "2025-01-01T00:00:40.000Z", trigger: "schedule" }]);
    await r.schedule.drain(AbortSignal.timeout(1000));
  });

  test("latest runs the most recent missed occurrence once, even with several replicas starting", async () => {
    const clock = new ManualClock(started);
    const lock = memoryLock({ now: () => clock.now() });
    const job = recorder("tick", "*/10 * * * * *", { catchUp: "latest", catchUpWindowMs: 60_000 });
    const replicas = [1, 2, 3].map(() => replica(clock, lock, [job.definition]));
    for (const r of replicas) r.schedule.start();
    await settle();
    expect(job.runs).toEqual([{ at: "2025-01-01T00:00:30.000Z", trigger: "catch-up" }]);
    for (const r of replicas) await r.schedule.drain(AbortSignal.timeout(1000));
  });

  test("latest runs nothing when the most recent occurrence already fired", async () => {
    const clock = new ManualClock("2025-01-01T00:00:25.000Z");
    const lock = memoryLock({ now: () => clock.now() });
    const job = recorder("tick", "*/10 * * * * *", { catchUp: "latest", catchUpWindowMs: 60_000 });
    const first = replica(clock, lock, [job.definition]);
    first.schedule.start(); // catches up 00:00:20
    await clock.advance(10_000); // fires 00:00:30
    await first.schedule.drain(AbortSignal.timeout(1000));
    const second = replica(clock, lock, [job.definition]);
    second.schedule.start(); // restarted at 00:00:35: 00:00:30 is still locked
    await settle();
    expect(job.runs).toEqual([
      { at: "2025-01-01T00:00:20.000Z", trigger: "catch-up" },
      { at: "2025-01-01T00:00:30.000Z", trigger: "schedule" },
    ]);
    await second.schedule.drain(AbortSignal.timeout(1000));
  });

  test("all runs each missed occurrence in the window, oldest first, one after another", async () => {
    const clock = new ManualClock(started);
    const job = recorder("tick", "*/10 * * * * *", { catchUp: "all", catchUpWindowMs: 25_000 });
    const r = replica(clock, memoryLock({ now: () => clock.now() }), [job.definition]);
    r.schedule.start();
    await settle();
    expect(job.runs).toEqual([
      { at: "2025-01-01T00:00:20.000Z", trigger: "catch-up" },
      { at: "2025-01-01T00:00:30.000Z", trigger: "catch-up" },
    ]);
    await r.schedule.drain(AbortSignal.timeout(1000));
  });
});

describe("failures", () => {
  test("a failing run is logged and counted, and the next occurrence still runs", async () => {
    const clock = new ManualClock(T0);
    let calls = 0;
    const counted: Array<[string, Record<string, unknown> | undefined]> = [];
    const meter = {
      counter: (o: { name: string }) => ({ inc: (labels?: Record<string, unknown>) => counted.push([o.name, labels]) }),
      gauge: () => ({ set() {}, inc() {}, dec() {} }),
      histogram: () => ({ observe() {} }),
    };
    const r = replica(
      clock,
      memoryLock({ now: () => clock.now() }),
      [
        {
          name: "flaky",
          schedule: "* * * * * *",
          run() {
            calls++;
            if (calls === 1) throw new Error("upstream said no");
          },
        },
      ],
      { meter },
    );
    r.schedule.start();
    await clock.advance(2_000);
    expect(calls).toBe(2);
    const failed = r.messages("job run failed")[0];
    expect(failed).toMatchObject({ level: "error", job: "flaky", outcome: "error" });
    expect(JSON.stringify(failed?.error)).toContain("upstream said no");
    expect(counted.filter(([name]) => name === "scheduler_runs_total").map(([, l]) => l)).toEqual([
      { cron_job: "flaky", outcome: "error" },
      { cron_job: "flaky", outcome: "ok" },
    ]);
    await r.schedule.drain(AbortSignal.timeout(1000));
  });

  test("a lock that fails skips the occurrence with an error line, and the schedule goes on", async () => {
    const clock = new ManualClock(T0);
    const real = memoryLock({ now: () => clock.now() });
    let down = true;
    const lock: Lock = {
      acquire: (key, ttl) => (down ? Promise.reject(new Error("lock store unreachable")) : real.acquire(key, ttl)),
      release: (lease) => real.release(lease),
      extend: (lease, ttl) => real.extend(lease, ttl),
    };
    const job = recorder("tick", "* * * * * *");
    const r = replica(clock, lock, [job.definition]);
    r.schedule.start();
    await clock.advance(1_000);
    expect(job.runs).toEqual([]);
    expect(r.messages("occurrence lock failed: run skipped")).toHaveLength(1);
    down = false;
    await clock.advance(1_000);
    expect(job.runs).toEqual([{ at: "2025-01-01T00:00:02.000Z", trigger: "schedule" }]);
    await r.schedule.drain(AbortSignal.timeout(1000));
  });

  test("a job past its timeoutMs sees its signal abort and ends as a timeout", async () => {
    const clock = new ManualClock(T0);
    const r = replica(clock, memoryLock({ now: () => clock.now() }), [
      {
        name: "stuck",
        schedule: "* * * * * *",
        timeoutMs: 5,
        run: ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })),
      },
    ]);
    r.schedule.start();
    await clock.advance(1_000);
    while (r.messages("job run failed").length === 0) await Bun.sleep(5);
    expect(r.messages("job run failed")[0]).toMatchObject({ job: "stuck", outcome: "timeout" });
    await r.schedule.drain(AbortSignal.timeout(1000));
  });
});

describe("drain", () => {
  test("takes no new occurrence and waits for the run in hand", async () => {
    const clock = new ManualClock(T0);
    const hold = gate();
    const runs: string[] = [];
    const r = replica(clock, memoryLock({ now: () => clock.now() }), [
      {
        name: "long",
        schedule: "* * * * * *",
        async run({ scheduledAt }) {
          runs.push(scheduledAt.toISOString());
          await hold.promise;
        },
      },
    ]);
    r.schedule.start();
    await clock.advance(1_000);
    let drained = false;
    const draining = r.schedule.drain(AbortSignal.timeout(5_000)).then(() => {
      drained = true;
    });
    await clock.advance(5_000);
    expect(drained).toBe(false);
    hold.open();
    await draining;
    expect(runs).toEqual(["2025-01-01T00:00:01.000Z"]);
    expect(r.messages("job run")[0]).toMatchObject({ outcome: "ok" });
    expect(clock.pending).toBe(0);
  });

  test("at the deadline it aborts the run still going and names it in the log", async () => {
    const clock = new ManualClock(T0);
    const r = replica(clock, memoryLock({ now: () => clock.now() }), [
      {
        name: "stubborn",
        schedule: "* * * * * *",
        run: ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })),
      },
    ]);
    r.schedule.start();
    await clock.advance(1_000);
    const deadline = new AbortController();
    const draining = r.schedule.drain(deadline.signal);
    await settle();
    deadline.abort();
    await draining;
    expect(r.messages("job still running at the shutdown deadline: aborting it")[0]).toMatchObject({
      job: "stubborn",
      scheduled_at: "2025-01-01T00:00:01.000Z",
    });
    await settle();
    expect(r.messages("job run failed")[0]).toMatchObject({ job: "stubborn", outcome: "aborted" });
  });
});

describe("runNow", () => {
  test("runs a job at once, and refuses an unknown name or a job already running", async () => {
    const clock = new ManualClock(T0);
    const hold = gate();
    const r = replica(clock, memoryLock({ now: () => clock.now() }), [
      { name: "report", schedule: "0 0 1 1 *", run: () => hold.promise },
    ]);
    const first = r.schedule.runNow("report");
    await settle();
    await expect(r.schedule.runNow("report")).rejects.toThrow('scheduler: job "report" is already running');
    await expect(r.schedule.runNow("nope")).rejects.toThrow('scheduler: no job named "nope": known jobs: "report"');
    hold.open();
    expect((await first).outcome).toBe("ok");
    expect(r.messages("job run")[0]).toMatchObject({ trigger: "manual" });
  });

  test("two jobs with one name are refused", () => {
    const clock = new ManualClock(T0);
    const job = recorder("same", "* * * * *").definition;
    expect(() => replica(clock, memoryLock(), [job, job])).toThrow('scheduler: two jobs are named "same"');
  });
});
