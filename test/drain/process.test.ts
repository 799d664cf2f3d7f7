/**
 * The harness itself: the signal a drain test sends must reach the app, on every runtime, even when
 * the app's event loop is too busy to notice it at once. (Run through the `tsx` command, the Node
 * app was SIGKILLed by tsx's relay after 30 ms without an acknowledgement, and exited 143.)
 */
import { describe, expect, test } from "bun:test";
import { type FixtureRuntime, spawnFixture } from "./process.ts";

describe("spawnFixture", () => {
  test.each([["bun"], ["deno"], ["node"]] as Array<[FixtureRuntime]>)(
    "on %s, SIGTERM reaches an app whose event loop is busy, and its handler decides the exit code",
    async (runtime) => {
      if (runtime === "deno" && Bun.which("deno") === null && process.env.CI !== "true") {
        console.warn("skip: deno is not installed (npm install -g deno)");
        return;
      }
      const fixture = await spawnFixture({}, { runtime, script: `${import.meta.dir}/busy-app.ts` });
      fixture.process.kill("SIGTERM");
      expect(await fixture.exited).toBe(0);
      expect(fixture.lines.map((l) => l.message)).toEqual(["listening", "SIGTERM handled"]);
    },
    30_000,
  );
});
