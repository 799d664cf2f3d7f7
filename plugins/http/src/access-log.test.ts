import { describe, expect, test } from "bun:test";
import type { LogFields, Logger } from "@twelvefold/kernel";
import { AccessLog } from "./access-log.ts";

/** A logger that keeps each line's fields, and a schedule the test runs by hand. */
function setup() {
  const lines: LogFields[] = [];
  const logger = { info: (_message: string, fields?: LogFields) => lines.push(fields ?? {}) } as unknown as Logger;
  const pending: Array<() => void> = [];
  const log = new AccessLog(logger, (fn) => pending.push(fn));
  const runTurn = () => {
    for (const fn of pending.splice(0)) fn();
  };
  return { lines, log, pending, runTurn };
}

describe("http access log", () => {
  test("a network request's line waits for the turn to end, with the turn's others, in answer order", () => {
    const { lines, log, pending, runTurn } = setup();
    log.write({ n: 1 }, false);
    log.write({ n: 2 }, false);
    expect(lines).toEqual([]);
    expect(pending).toHaveLength(1); // one flush per turn, however many answers
    runTurn();
    expect(lines).toEqual([{ n: 1 }, { n: 2 }]);
    log.write({ n: 3 }, false);
    runTurn();
    expect(lines.map((l) => l.n)).toEqual([1, 2, 3]);
  });

  test("an in-process request's line is written at once, after the lines queued before it", () => {
    const { lines, log, runTurn } = setup();
    log.write({ n: 1 }, false);
    log.write({ n: 2 }, true);
    expect(lines.map((l) => l.n)).toEqual([1, 2]);
    runTurn();
    expect(lines.map((l) => l.n)).toEqual([1, 2]); // nothing written twice
  });

  test("flush writes what is queued; after close every line is written at once, none is left to a turn", () => {
    const { lines, log, runTurn } = setup();
    log.write({ n: 1 }, false);
    log.flush();
    expect(lines.map((l) => l.n)).toEqual([1]);
    log.write({ n: 2 }, false);
    log.close();
    expect(lines.map((l) => l.n)).toEqual([1, 2]);
    log.write({ n: 3 }, false);
    expect(lines.map((l) => l.n)).toEqual([1, 2, 3]);
    runTurn();
    expect(lines.map((l) => l.n)).toEqual([1, 2, 3]);
  });

  test("by default the lines of a turn are written after it, before the next turn's callbacks", async () => {
    const lines: LogFields[] = [];
    const logger = { info: (_message: string, fields?: LogFields) => lines.push(fields ?? {}) } as unknown as Logger;
    const log = new AccessLog(logger);
    log.write({ n: 1 }, false);
    await Promise.resolve();
    expect(lines).toEqual([]); // not a microtask: the turn's answers go out first
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([{ n: 1 }]);
  });
});
