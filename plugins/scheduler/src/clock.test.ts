import { expect, test } from "bun:test";
import { sleepUntil, systemClock } from "./clock.ts";

test("the system clock sleeps until its time, or until its signal aborts", async () => {
  const before = Date.now();
  await systemClock.sleep(5, new AbortController().signal);
  expect(systemClock.now()).toBeGreaterThanOrEqual(before + 4);
  const controller = new AbortController();
  const sleeping = systemClock.sleep(60_000, controller.signal);
  controller.abort();
  await sleeping;
  controller.abort();
  await systemClock.sleep(60_000, controller.signal);
});

test("sleepUntil waits again when a timer fires early", async () => {
  let now = 0;
  const naps: number[] = [];
  const clock = {
    now: () => now,
    sleep: async (ms: number) => {
      naps.push(ms);
      now += naps.length === 1 ? ms / 2 : ms; // the first timer fires halfway
    },
  };
  await sleepUntil(clock, 100, new AbortController().signal);
  expect(now).toBe(100);
  expect(naps).toEqual([100, 50]);
});
