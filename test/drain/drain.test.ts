/**
 * Zero-loss graceful drain in a real process, on Bun, Deno and Node. The fixture serves a 200 ms
 * route; 50 keep-alive connections keep it busy; SIGTERM arrives mid-run.
 *
 * An accepted request is one the server began handling: the fixture counts those (`began`) and
 * logs the total as it stops. The claim under test: every one of them reached the client as a
 * complete 2xx response, no request on a connection that had already carried a response was
 * lost, and nothing timed out. Requests the client tried after the listener closed (connection
 * refused, or a fresh connection closed with no byte received) were never accepted: they are
 * counted and shown, not failures. The exit code must be 0.
 */
import { describe, expect, test } from "bun:test";
import { loadUnderWay } from "./client.ts";
import { type FixtureRuntime, spawnFixture } from "./process.ts";

function totals(lines: Array<Record<string, unknown>>) {
  return lines.find((l) => l.message === "fixture totals") as { began: number; finished: number } | undefined;
}

describe("graceful drain, real process", () => {
  const cases: Array<[FixtureRuntime, string]> = [
    ["bun", "300"],
    ["bun", "0"],
    ["deno", "0"],
    ["node", "0"],
  ];
  test.each(cases)(
    "on %s, 50 busy keep-alive connections, SIGTERM mid-run, DRAIN_DELAY_MS=%s: no accepted request fails, exit 0",
    async (runtime, delay) => {
      // .ci/run installs Deno; a local checkout without it skips that case with a reason.
      if (runtime === "deno" && Bun.which("deno") === null && process.env.CI !== "true") {
        console.warn("skip: deno is not installed (npm install -g deno)");
        return;
      }
      const fixture = await spawnFixture({ DRAIN_DELAY_MS: delay, SHUTDOWN_TIMEOUT_MS: "5000" }, { runtime });
      const stop = new AbortController();
      // SIGTERM once every connection has had two answers: mid-run, 50 requests in flight.
      const running = loadUnderWay(
        { port: fixture.port, path: "/work", connections: 50, stop: stop.signal, requestTimeoutMs: 5_000 },
        100,
      );
      await running.underWay;
      fixture.process.kill("SIGTERM");
      const code = await fixture.exited;
      stop.abort();
      const records = await running.done;

      const responses = records.filter((r) => r.outcome === "response");
      const ok = responses.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
      const lost = records.filter((r) => r.outcome === "lost" || r.outcome === "timeout");
      const refused = records.filter((r) => r.outcome === "refused");
      const server = totals(fixture.lines);
      const why = new Map<string, number>();
      for (const r of refused) why.set(r.error ?? "?", (why.get(r.error ?? "?") ?? 0) + 1);
      console.info(
        `drain under load on ${runtime}: ${ok.length} ok, ${responses.length - ok.length} non-2xx, ${lost.length} lost, ` +
          `${refused.length} refused after the listener closed (${[...why].map(([e, n]) => `${n}x ${e}`).join(", ")}); ` +
          `server began ${server?.began}`,
      );
      expect(code).toBe(0);
      expect(lost).toEqual([]);
      expect(responses.length - ok.length).toBe(0);
      expect(server?.began).toBe(ok.length);
      expect(server?.finished).toBe(ok.length);
      // The requests in flight at the signal were answered too: the run did real work across the drain.
      expect(ok.length).toBeGreaterThan(100);
    },
    60_000,
  );

  test("an idle server exits 0 soon after SIGTERM when DRAIN_DELAY_MS is 0", async () => {
    const fixture = await spawnFixture({ DRAIN_DELAY_MS: "0" });
    const began = performance.now();
    fixture.process.kill("SIGTERM");
    const code = await fixture.exited;
    const elapsed = performance.now() - began;
    // The 100 ms budget is measured by bench/run.ts on a quiet machine; here only the exit is
    // asserted, with a bound loose enough for a loaded CI box, and the figure is printed.
    console.info(`idle exit after SIGTERM: ${elapsed.toFixed(1)} ms`);
    expect(code).toBe(0);
    expect(fixture.lines.some((l) => l.message === "app stopped")).toBe(true);
  });

  test("a request still running at SHUTDOWN_TIMEOUT_MS is aborted and the exit code is 1", async () => {
    const fixture = await spawnFixture({ DRAIN_DELAY_MS: "0", SHUTDOWN_TIMEOUT_MS: "100" });
    const pending = fetch(`http://127.0.0.1:${fixture.port}/hang`).catch((error: unknown) => error);
    // The request must be in the handler before the signal, however loaded the machine is.
    while (!fixture.lines.some((l) => l.message === "hang began")) await Bun.sleep(5);
    fixture.process.kill("SIGTERM");
    expect(await fixture.exited).toBe(1);
    await pending;
    expect(fixture.lines.some((l) => l.message === "drain deadline passed: abandoning in-flight work")).toBe(true);
  });
});
