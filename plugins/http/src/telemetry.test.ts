import { expect, test } from "bun:test";
import { definePlugin, Meter, override, Tracer } from "@twelvefold/kernel";
import { startApp } from "../test/start.ts";
import { HttpApp } from "./plugin.ts";
import { fakeMeter, fakeTracer } from "./testdata/fakes.ts";

const routes = definePlugin({
  name: "routes",
  requires: [HttpApp],
  start({ get }) {
    get(HttpApp).get("/sessions/:id", (c) => c.json({ id: c.req.param("id") }));
  },
});

test("a server span per request, named by route template, continuing the incoming trace", async () => {
  const { tracer, spans } = fakeTracer();
  const { meter, observed } = fakeMeter();
  await using t = await startApp([routes], { overrides: [override(Tracer, tracer), override(Meter, meter)] });
  const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  await t.handle("/sessions/abc", { headers: { traceparent } });
  await t.handle("/livez");
  expect(spans).toHaveLength(1);
  expect(spans[0]?.name).toBe("GET /sessions/:id");
  expect(spans[0]?.ended).toBe(true);
  expect((spans[0]?.carrier as Headers | undefined)?.get("traceparent")).toBe(traceparent);
  expect(spans[0]?.attributes["http.route"]).toBe("/sessions/:id");
  const total = observed.filter((o) => o.metric === "http_requests_total");
  expect(total).toEqual([
    { metric: "http_requests_total", labels: { method: "GET", route: "/sessions/:id", status: 200 }, value: 1 },
  ]);
  const duration = observed.find((o) => o.metric === "http_request_duration_seconds");
  expect(duration?.labels).toEqual({ method: "GET", route: "/sessions/:id" });
  const log = t.logs.find((l) => l.message === "request");
  expect(log?.trace_id).toBe("0af7651916cd43dd8448eb211c80319c");
});

test("a client that leaves before the answer is a 499 in the span, the metrics and the access log, never a 200", async () => {
  const { tracer, spans } = fakeTracer();
  const { meter, observed } = fakeMeter();
  const slow = definePlugin({
    name: "slow",
    requires: [HttpApp],
    start({ get }) {
      get(HttpApp).get("/slow", async (c) => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return c.text("too late");
      });
    },
  });
  await using t = await startApp([slow], {
    env: { HTTP_ACCESS_LOG: "true" },
    overrides: [override(Tracer, tracer), override(Meter, meter)],
  });
  await t.fetch("/slow", { signal: AbortSignal.timeout(100) }).catch(() => {});
  for (let i = 0; i < 100 && !spans[0]?.ended; i++) await Bun.sleep(20);
  expect(spans[0]?.attributes["http.response.status_code"]).toBe(499);
  expect(observed.filter((o) => o.metric === "http_requests_total")).toEqual([
    { metric: "http_requests_total", labels: { method: "GET", route: "/slow", status: 499 }, value: 1 },
  ]);
  expect(t.logs.find((l) => l.message === "request")?.status).toBe(499);
});
