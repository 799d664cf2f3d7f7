import { describe, expect, test } from "bun:test";
import { AfterAnswers } from "./after-answers.ts";

/** A queue whose turns the test runs by hand, keeping what was done and what failed. */
function setup() {
  const done: number[] = [];
  const failures: unknown[] = [];
  const pending: Array<() => void> = [];
  const after = new AfterAnswers<number>(
    (error) => failures.push(error),
    (fn) => pending.push(fn),
  );
  after.run = (n) => {
    if (n < 0) throw new Error(`item ${n} failed`);
    done.push(n);
  };
  const runTurn = () => {
    for (const fn of pending.splice(0)) fn();
  };
  return { done, failures, pending, after, runTurn };
}

describe("http: work left for after the answers", () => {
  test("a network request's item waits for the turn to end, with the turn's others, in answer order", () => {
    const { done, pending, after, runTurn } = setup();
    after.add(1, false);
    after.add(2, false);
    expect(done).toEqual([]);
    expect(pending).toHaveLength(1); // one flush per turn, however many answers
    runTurn();
    expect(done).toEqual([1, 2]);
    after.add(3, false);
    runTurn();
    expect(done).toEqual([1, 2, 3]);
  });

  test("an in-process request's item is done at once, after the items queued before it", () => {
    const { done, after, runTurn } = setup();
    after.add(1, false);
    after.add(2, true);
    expect(done).toEqual([1, 2]);
    runTurn();
    expect(done).toEqual([1, 2]); // nothing done twice
  });

  test("flush does what is queued; after close every item is done at once, none is left to a turn", () => {
    const { done, after, runTurn } = setup();
    after.add(1, false);
    after.flush();
    expect(done).toEqual([1]);
    after.add(2, false);
    after.close();
    expect(done).toEqual([1, 2]);
    after.add(3, false);
    expect(done).toEqual([1, 2, 3]);
    runTurn();
    expect(done).toEqual([1, 2, 3]);
  });

  test("an item that throws is reported and costs only itself, not the process or the others", () => {
    const { done, failures, after, runTurn } = setup();
    after.add(1, false);
    after.add(-1, false);
    after.add(2, false);
    expect(() => runTurn()).not.toThrow();
    expect(done).toEqual([1, 2]);
    expect(failures.map((e) => (e as Error).message)).toEqual(["item -1 failed"]);
  });

  test("by default the turn's items are done after it, not in a microtask", async () => {
    const after = new AfterAnswers<number>(() => {});
    const done: number[] = [];
    after.run = (n) => done.push(n);
    after.add(1, false);
    await Promise.resolve();
    expect(done).toEqual([]); // the turn's answers go out first
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toEqual([1]);
  });
});
