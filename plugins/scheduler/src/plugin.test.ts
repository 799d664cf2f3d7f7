import { describe, expect, test } from "bun:test";
import { createApp, definePlugin, token } from "@twelvefold/kernel";
import { fakeRuntime, pluginContract, testApp } from "@twelvefold/testing";
import { defineCronJob } from "./job.ts";
import { SchedulerStatus, scheduler } from "./plugin.ts";
import { ManualClock } from "./testdata/manual-clock.ts";

const base = { ENVIRONMENT: "testing", LOG_LEVEL: "info", LOG_FORMAT: "json" };
const Store = token<string[]>("test/Store");

const store = definePlugin({
  name: "store",
  provides: [Store],
  start: ({ provide }) => provide(Store, []),
});

/** A job that writes its occurrence to the Store, so a test sees it ran with the app's services. */
const report = defineCronJob({
  name: "report",
  schedule: "*/10 * * * * *",
  requires: [Store],
  run({ get, scheduledAt, trigger }) {
    get(Store).push(`${trigger} ${scheduledAt.toISOString()}`);
  },
});

pluginContract(() => scheduler({ jobs: [report] }), {
  process: "scheduler",
  plugins: [store],
  badEnv: { SCHEDULER_TZ: "Mars/Olympus_Mons" },
});

describe("scheduler plugin", () => {
  test("holds its schedule once every plugin has started, and runs jobs with the app's services", async () => {
    const clock = new ManualClock("2025-01-01T00:00:00.500Z");
    await using t = await testApp({ plugins: [store, scheduler({ jobs: [report], clock })], process: "scheduler" });
    const held = t.logs.find((l) => l.message === "schedule held");
    expect(held).toMatchObject({ jobs: [{ name: "report", next: "2025-01-01T00:00:10.000Z" }], timezone: "UTC" });
    expect(t.logs.findIndex((l) => l.message === "schedule held")).toBeLessThan(
      t.logs.findIndex((l) => l.message === "app ready"),
    );
    await clock.advance(20_000);
    expect(t.get(Store)).toEqual(["schedule 2025-01-01T00:00:10.000Z", "schedule 2025-01-01T00:00:20.000Z"]);
    expect(t.get(SchedulerStatus).jobs()[0]).toMatchObject({ name: "report", running: false });
    expect(t.logs.some((l) => l.message.startsWith("scheduler on the memory Lock"))).toBe(true);
  });

  test("SCHEDULER_TZ moves the schedule; it runs only in the scheduler process", async () => {
    const clock = new ManualClock("2025-01-15T00:00:00Z");
    const daily = defineCronJob({ name: "daily", schedule: "0 3 * * *", run() {} });
    await using paris = await testApp({
      plugins: [scheduler({ jobs: [daily], clock })],
      env: { SCHEDULER_TZ: "Europe/Paris" },
      process: "scheduler",
    });
    expect(paris.get(SchedulerStatus).jobs()[0]?.next?.toISOString()).toBe("2025-01-15T02:00:00.000Z");
    await using web = await testApp({ plugins: [scheduler({ jobs: [daily], clock })], process: "web" });
    expect(web.logs.some((l) => l.message === "schedule held")).toBe(false);
  });

  test("warns that catch-up on the memory Lock forgets what ran; refuses two jobs of one name", async () => {
    const clock = new ManualClock("2025-01-01T00:00:00Z");
    const catching = defineCronJob({ name: "nightly", schedule: "@daily", catchUp: "latest", run() {} });
    await using t = await testApp({ plugins: [scheduler({ jobs: [catching], clock })], process: "scheduler" });
    expect(t.logs.find((l) => l.message.startsWith("catch-up on the memory Lock"))).toMatchObject({
      level: "warn",
      jobs: ["nightly"],
    });
    expect(() => scheduler({ jobs: [catching, catching] })).toThrow('scheduler: two jobs are named "nightly"');
  });
});

describe("admin commands", () => {
  async function admin(argv: string[], env: Record<string, string> = {}) {
    const clock = new ManualClock("2025-01-01T00:00:05Z");
    const fake = fakeRuntime({ ...base, ...env }, ["admin", ...argv]);
    const failing = defineCronJob({
      name: "failing",
      schedule: "0 3 * * *",
      timezone: "America/New_York",
      catchUp: "latest",
      run() {
        throw new Error("upstream unavailable");
      },
    });
    void createApp({
      name: "agent",
      plugins: [store, scheduler({ jobs: [report, failing], clock })],
      runtime: fake.runtime,
    }).run();
    return { code: await fake.exited, ...fake };
  }

  test("jobs lists each job, its zone, catch-up and next occurrence, without starting anything", async () => {
    const r = await admin(["jobs"], { SCHEDULER_TZ: "Europe/Paris" });
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual([
      "NAME     SCHEDULE        TIME ZONE         CATCH-UP  NEXT",
      "report   */10 * * * * *  Europe/Paris      none      2025-01-01T00:00:10.000Z",
      "failing  0 3 * * *       America/New_York  latest    2025-01-01T08:00:00.000Z",
    ]);
    expect(r.logs().some((l) => l.message === "plugin started")).toBe(false);
  });

  test("run-job runs one job now with the admin process's services and exits 0", async () => {
    const r = await admin(["run-job", "report"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual(["report: ok in 0 ms"]);
    expect(r.logs().find((l) => l.message === "job run")).toMatchObject({ job: "report", trigger: "manual" });
  });

  test("run-job exits 1 when the job fails, and 2 for a job that does not exist", async () => {
    const failed = await admin(["run-job", "failing"]);
    expect(failed.code).toBe(1);
    expect(JSON.stringify(failed.logs().find((l) => l.message === "command failed"))).toContain("upstream unavailable");
    const unknown = await admin(["run-job", "nope"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr[0]).toBe('admin: run-job: bad arguments: <name>: one of report, failing, got "nope"');
  });
});
