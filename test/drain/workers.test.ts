/**
 * WORKERS: the web process as N copies on one port, in real processes. The drain fixture runs as
 * `web` with WORKERS=2: the started process supervises two copies that share the port (Bun:
 * SO_REUSEPORT; Node: cluster workers). Under load, SIGTERM to the supervisor must drain every copy
 * with the zero-loss guarantee of one process (see drain.test.ts for what "accepted" means): each
 * request a copy began reached the client as a complete 2xx. A copy killed outright is restarted,
 * and a supervisor killed outright leaves no copy holding the port.
 */
import { describe, expect, test } from "bun:test";
import { loadUnderWay } from "./client.ts";
import { type Fixture, type FixtureRuntime, spawnFixture } from "./process.ts";

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

const count = (fixture: Fixture, message: string) => fixture.lines.filter((l) => l.message === message).length;

async function twoCopies(runtime: FixtureRuntime, env: Record<string, string> = {}): Promise<Fixture> {
  const fixture = await spawnFixture(
    { WORKERS: "2", PORT: String(freePort()), SHUTDOWN_TIMEOUT_MS: "5000", DRAIN_DELAY_MS: "0", ...env },
    { runtime, args: ["web"] },
  );
  await until(() => count(fixture, "app ready") >= 2, "both copies to be ready");
  return fixture;
}

describe("WORKERS=2, real processes", () => {
  test.each([["bun"], ["node"]] as Array<[FixtureRuntime]>)(
    "on %s, 50 busy keep-alive connections, SIGTERM to the supervisor: every copy drains, nothing accepted is lost, exit 0",
    async (runtime) => {
      const fixture = await twoCopies(runtime);
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

      const ok = records.filter((r) => r.outcome === "response" && r.status !== undefined && r.status < 300);
      const lost = records.filter((r) => r.outcome === "lost" || r.outcome === "timeout");
      const totals = fixture.lines.filter((l) => l.message === "fixture totals") as Array<{
        began: number;
        copy: number;
      }>;
      const began = totals.reduce((sum, t) => sum + t.began, 0);
      console.info(
        `WORKERS=2 on ${runtime}: ${ok.length} ok, ${lost.length} lost, copies began ${totals.map((t) => `${t.copy}:${t.began}`).join(" ")}`,
      );
      expect(code).toBe(0);
      expect(lost).toEqual([]);
      expect(records.filter((r) => r.outcome === "response").length).toBe(ok.length);
      expect(totals.map((t) => t.copy).sort()).toEqual([0, 1]);
      expect(began).toBe(ok.length);
      // Both copies took part.
      expect(totals.every((t) => t.began > 0)).toBe(true);
      expect(fixture.lines.at(-1)).toMatchObject({ message: "copies stopped", code: 0 });
    },
    40_000,
  );

  test("a copy killed outright is restarted and serves; the supervisor still exits 0 on SIGTERM", async () => {
    const fixture = await twoCopies("bun");
    const victim = fixture.lines.find((l) => l.message === "copy started" && l.copy === 0)?.pid as number;
    process.kill(victim, "SIGKILL");
    await until(() => count(fixture, "copy exited: restarting it") === 1, "the restart");
    await until(() => count(fixture, "app ready") === 3, "the new copy to be ready");
    const restarted = fixture.lines.filter((l) => l.message === "copy started" && l.copy === 0);
    expect(restarted.length).toBe(2);
    expect(restarted[1]?.pid).not.toBe(victim);
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`http://127.0.0.1:${fixture.port}/work`, { headers: { connection: "close" } });
      expect(response.status).toBe(200);
    }
    fixture.process.kill("SIGTERM");
    expect(await fixture.exited).toBe(0);
  }, 40_000);

  test("when the supervisor is killed outright, its copies drain and free the port by themselves", async () => {
    const fixture = await twoCopies("bun");
    const pids = fixture.lines.filter((l) => l.message === "copy started").map((l) => l.pid as number);
    fixture.process.kill("SIGKILL");
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until(() => !pids.some(alive), "the copies to exit", 20_000);
    const refused = await fetch(`http://127.0.0.1:${fixture.port}/livez`).then(
      () => false,
      () => true,
    );
    expect(refused).toBe(true);
  }, 40_000);
});
