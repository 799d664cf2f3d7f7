/**
 * The HTTP edge under slow and long requests, in a real process on Bun, Deno and Node, over raw
 * sockets: the runtime adapter's own timers must never cut a request before
 * HTTP_REQUEST_TIMEOUT_MS (Bun's idle timeout counts a busy handler, and an upload in progress, as
 * idle), the request timeout answers 504 problem+json, an idle keep-alive connection still closes
 * after HTTP_IDLE_TIMEOUT_S, and a client that leaves is logged as 499.
 */
import { describe, expect, test } from "bun:test";
import { type FixtureRuntime, spawnFixture } from "../drain/process.ts";
import { bodyOf, rawExchange } from "../raw.ts";

const APP = `${import.meta.dir}/app.ts`;
const runtimes: FixtureRuntime[] = ["bun", "node", "deno"];

// Each test waits on timers in its own process, so they run side by side: about 11 s instead of 45.
describe.concurrent("the HTTP edge on every runtime adapter", () => {
  test.each(runtimes)(
    "on %s: a request longer than the idle timeout is answered, then the idle connection closes",
    async (runtime) => {
      if (runtime === "deno" && Bun.which("deno") === null && process.env.CI !== "true") {
        console.warn("skip: deno is not installed (npm install -g deno)");
        return;
      }
      const fixture = await spawnFixture(
        { HTTP_IDLE_TIMEOUT_S: "1", HTTP_REQUEST_TIMEOUT_MS: "8000", HTTP_ACCESS_LOG: "true", DRAIN_DELAY_MS: "0" },
        { runtime, script: APP },
      );
      try {
        const host = "Host: edge\r\n";
        const body = "x".repeat(100);
        const [long, upload, late, gone] = await Promise.all([
          // A handler busy for 5 s, five times the idle timeout.
          rawExchange(fixture.port, `GET /slow/5000 HTTP/1.1\r\n${host}\r\n`, {
            waitMs: 25_000,
            ...(runtime === "deno" ? { until: "done" } : {}),
          }),
          // An upload that trickles in over 5 s: 100 bytes every half second.
          rawExchange(
            fixture.port,
            `POST /upload HTTP/1.1\r\n${host}Content-Length: 1000\r\nConnection: close\r\n\r\n`,
            {
              pieces: Array.from({ length: 10 }, () => body),
              gapMs: 500,
              waitMs: 25_000,
            },
          ),
          // Past the request timeout: the client gets the 504 the README promises.
          rawExchange(fixture.port, `GET /slow/20000 HTTP/1.1\r\n${host}Connection: close\r\n\r\n`, { waitMs: 25_000 }),
          // The client leaves before the answer.
          rawExchange(fixture.port, `GET /slow/1500 HTTP/1.1\r\n${host}\r\n`, { leaveAfterMs: 300 }),
        ]);
        expect(long.status).toBe(200);
        expect(long.text.endsWith("done")).toBe(true);
        if (runtime !== "deno") {
          // Deno 2.9's Deno.serve has no keep-alive timeout: it keeps idle connections until the client leaves.
          expect(long.closedByServer).toBe(true);
        }
        expect(upload.status).toBe(200);
        expect(upload.text.endsWith("got 1000")).toBe(true);
        expect(late.status).toBe(504);
        expect(late.text).toContain("application/problem+json");
        expect(late.text).toContain('"code":"TF_HTTP_TIMEOUT"');
        expect(gone.status).toBeUndefined();
        // Node writes its log lines asynchronously: wait for each.
        const logged = async (path: string) => {
          const find = () => fixture.lines.find((l) => l.message === "request" && l.path === path);
          for (let i = 0; i < 100 && find() === undefined; i++) await Bun.sleep(50);
          return find();
        };
        expect((await logged("/slow/5000"))?.status).toBe(200);
        expect((await logged("/slow/20000"))?.status).toBe(504);
        expect((await logged("/slow/1500"))?.status).toBe(499);
      } finally {
        fixture.process.kill("SIGTERM");
        await fixture.exited;
      }
    },
    40_000,
  );

  test.each(runtimes)(
    "on %s: Host is checked, HTTP/1.0 without Host is routed by its real path, every method's body counts",
    async (runtime) => {
      if (runtime === "deno" && Bun.which("deno") === null && process.env.CI !== "true") {
        console.warn("skip: deno is not installed (npm install -g deno)");
        return;
      }
      const fixture = await spawnFixture({ HTTP_BODY_LIMIT_BYTES: "100" }, { runtime, script: APP });
      try {
        const ask = (head: string) => rawExchange(fixture.port, head, { waitMs: 5_000 });
        const check = await ask("GET /livez HTTP/1.0\r\n\r\n");
        expect(check.status).toBe(200);
        expect(check.text).toContain('{"status":"alive"}');
        const item = await ask("GET /items/42 HTTP/1.0\r\n\r\n");
        expect(item.status).toBe(200);
        expect(item.text).toContain('{"id":"42"}');
        expect((await ask("GET /items/42/more HTTP/1.0\r\n\r\n")).status).toBe(404);
        // Some runtimes refuse a few of these themselves (a bare 400); the rest get the plugin's problem+json.
        for (const host of ["Host:\r\n", "Host: a.example\r\nHost: b.example\r\n", "Host: a b\r\n", "Host: a/b\r\n"]) {
          const got = await ask(`GET /items/1 HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
          expect(got.status).toBe(400);
        }
        const chunk = `1f4\r\n${"x".repeat(500)}\r\n0\r\n\r\n`;
        const send = (method: string, framing: string, content: string) =>
          ask(`${method} /echo HTTP/1.1\r\nHost: t\r\n${framing}\r\nConnection: close\r\n\r\n${content}`);
        // Every method's declared body counts; a chunked one counts as it is read.
        for (const method of ["GET", "DELETE"]) {
          expect((await send(method, "Content-Length: 500", "x".repeat(500))).status).toBe(413);
        }
        expect((await send("DELETE", "Transfer-Encoding: chunked", chunk)).status).toBe(413);
        expect((await send("DELETE", "Transfer-Encoding: chunked", "5\r\nhello\r\n0\r\n\r\n")).text).toContain("got 5");
        // No runtime hands a GET body to the handler (a fetch Request cannot carry one): it never reaches memory.
        expect((await send("GET", "Transfer-Encoding: chunked", chunk)).text).toContain("got 0");
      } finally {
        fixture.process.kill("SIGTERM");
        await fixture.exited;
      }
    },
    20_000,
  );

  test.each(runtimes)(
    "on %s: an event stream outlives the request and idle timeouts with keep-alive comments, and ends cleanly at drain",
    async (runtime) => {
      if (runtime === "deno" && Bun.which("deno") === null && process.env.CI !== "true") {
        console.warn("skip: deno is not installed (npm install -g deno)");
        return;
      }
      const fixture = await spawnFixture(
        {
          HTTP_IDLE_TIMEOUT_S: "1",
          HTTP_REQUEST_TIMEOUT_MS: "1000",
          HTTP_SSE_KEEPALIVE_MS: "500",
          DRAIN_DELAY_MS: "0",
          SHUTDOWN_TIMEOUT_MS: "5000",
        },
        { runtime, script: APP },
      );
      const head = "GET /events HTTP/1.1\r\nHost: edge\r\nLast-Event-ID: 41\r\n\r\n";
      const reading = rawExchange(fixture.port, head, { waitMs: 20_000 });
      // Five times the idle timeout and the request timeout, then SIGTERM.
      await Bun.sleep(5_000);
      fixture.process.kill("SIGTERM");
      const got = await reading;
      const code = await fixture.exited;
      expect(got.status).toBe(200);
      expect(got.text.toLowerCase()).toContain("content-type: text/event-stream");
      const events = bodyOf(got.text);
      expect(
        events.startsWith(
          'id: 42\nevent: token\ndata: {"text":"hel"}\n\nid: 43\nevent: token\ndata: {"text":"lo"}\n\n',
        ),
      ).toBe(true);
      // Quiet for 5 s at 500 ms: keep-alive comments, and the stream was not cut.
      expect(events.split(": keep-alive\n\n").length - 1).toBeGreaterThanOrEqual(5);
      expect(events.endsWith(": keep-alive\n\nevent: drain\ndata: moving\n\nretry: 500\n\n")).toBe(true);
      expect(got.closedByServer).toBe(true);
      expect(code).toBe(0);
    },
    30_000,
  );
});
