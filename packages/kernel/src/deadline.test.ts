import { expect, test } from "bun:test";
import { withDeadline } from "./deadline.ts";

const late = () => new RangeError("work: did not finish within 20 ms");

test("work that finishes in time gives its value, sync or async", async () => {
  expect(await withDeadline(() => 7, { timeoutMs: 1_000, error: late })).toBe(7);
  expect(await withDeadline(async () => "done", { timeoutMs: 1_000, error: late })).toBe("done");
});

test("work that throws rejects with its own error, not the deadline's", async () => {
  const failing = withDeadline(
    () => {
      throw new Error("broken");
    },
    { timeoutMs: 1_000, error: late },
  );
  await expect(failing).rejects.toThrow("broken");
});

test("past the budget it rejects with the deadline's error and aborts the work's signal with it", async () => {
  let reason: unknown;
  const hung = withDeadline(
    (signal) =>
      new Promise<never>(() => {
        signal.addEventListener("abort", () => {
          reason = signal.reason;
        });
      }),
    { timeoutMs: 20, error: late },
  );
  await expect(hung).rejects.toThrow("work: did not finish within 20 ms");
  expect(reason).toBeInstanceOf(RangeError);
});

test("an outside signal aborts the work's signal but leaves the outcome to the work", async () => {
  const shutdown = new AbortController();
  let began: () => void = () => {};
  const running = new Promise<void>((resolve) => {
    began = resolve;
  });
  const work = withDeadline(
    (signal) =>
      new Promise<string>((resolve) => {
        signal.addEventListener("abort", () => resolve(`gave up: ${signal.reason}`));
        began();
      }),
    { timeoutMs: 5_000, error: late, signal: shutdown.signal },
  );
  await running;
  shutdown.abort("shutdown");
  expect(await work).toBe("gave up: shutdown");
});
