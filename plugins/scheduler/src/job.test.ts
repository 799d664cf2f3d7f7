import { describe, expect, test } from "bun:test";
import { SchedulerError } from "./errors.ts";
import { defineCronJob } from "./job.ts";

const run = () => {};

describe("defineCronJob", () => {
  test("fills the defaults: no catch-up, a day's window, no timeout, no tokens", () => {
    expect(defineCronJob({ name: "purge", schedule: "0 3 * * *", run })).toMatchObject({
      name: "purge",
      schedule: "0 3 * * *",
      timezone: undefined,
      catchUp: "none",
      catchUpWindowMs: 86_400_000,
      timeoutMs: undefined,
      requires: [],
      optional: [],
    });
  });

  test("accepts 5 and 6 fields and nicknames", () => {
    for (const schedule of ["*/5 * * * *", "*/10 * * * * *", "@hourly"]) {
      expect(defineCronJob({ name: "x", schedule, run }).schedule).toBe(schedule);
    }
  });

  test("refuses a bad schedule, name, zone, policy, window, timeout or run with a message naming the job", () => {
    const refused = (definition: Parameters<typeof defineCronJob>[0]) => {
      try {
        defineCronJob(definition);
      } catch (error) {
        expect(error).toBeInstanceOf(SchedulerError);
        expect((error as SchedulerError).code).toBe("TF_SCHEDULER_INVALID_JOB");
        return (error as Error).message;
      }
      throw new Error("expected a refusal");
    };
    expect(refused({ name: "purge", schedule: "61 * * * *", run })).toBe(
      'scheduler: job "purge": invalid schedule "61 * * * *": CronPattern: Invalid value for minute: 61',
    );
    expect(refused({ name: "purge", schedule: "* * *", run })).toStartWith(
      'scheduler: job "purge": invalid schedule "* * *"',
    );
    expect(refused({ name: "two words", schedule: "@daily", run })).toBe(
      'scheduler: job "two words": invalid name: use letters, digits and - _ .',
    );
    expect(refused({ name: "p", schedule: "@daily", timezone: "Mars/Base", run })).toBe(
      'scheduler: job "p": unknown time zone "Mars/Base"',
    );
    expect(refused({ name: "p", schedule: "@daily", catchUp: "some" as "all", run })).toBe(
      'scheduler: job "p": catchUp must be none, latest or all: got "some"',
    );
    expect(refused({ name: "p", schedule: "@daily", catchUpWindowMs: 10, run })).toBe(
      'scheduler: job "p": catchUpWindowMs must be an integer of at least 1000: got "10"',
    );
    expect(refused({ name: "p", schedule: "@daily", timeoutMs: 0, run })).toBe(
      'scheduler: job "p": timeoutMs must be a positive integer: got "0"',
    );
    expect(refused({ name: "p", schedule: "@daily" } as never)).toBe('scheduler: job "p": run must be a function');
  });
});
