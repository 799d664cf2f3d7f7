import { afterEach, describe, expect, test } from "bun:test";
import { type OtlpReceiver, otlpReceiver } from "./receiver.ts";
import { spawnApp, watchStdout } from "./testdata/child.ts";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

describe("an OpenTelemetry instrumentation inside a handler", () => {
  test("@opentelemetry/instrumentation-http's client span is a child of the request span, in the same export, and carries its traceparent", async () => {
    receiver = otlpReceiver();
    const downstream = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) => new Response(request.headers.get("traceparent") ?? "none"),
    });
    const child = spawnApp("instrumented-app.ts", {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: "600000",
      PORT: "0",
      HOST: "127.0.0.1",
      DOWNSTREAM_URL: `http://127.0.0.1:${downstream.port}/inventory`,
      INCOMING_TRACEPARENT: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    });
    const lines: string[] = [];
    let called: Record<string, unknown>;
    try {
      called = JSON.parse(await watchStdout(child.stdout, '"called"', lines));
      child.kill("SIGTERM");
      const code = await child.exited;
      expect({ code, stderr: await new Response(child.stderr).text() }).toEqual({ code: 0, stderr: "" });
    } finally {
      child.kill("SIGKILL");
      await downstream.stop(true);
    }
    const server = receiver.spans.find((s) => s.scope === "@twelvefold/otel" && s.kind === 2);
    const client = receiver.spans.find((s) => s.scope === "@opentelemetry/instrumentation-http");
    expect(server).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentSpanId: "00f067aa0ba902b7" });
    // OTLP kind 3 is client; the instrumentation names its span after the method.
    expect(client).toMatchObject({ name: "GET", kind: 3, traceId: server?.traceId, parentSpanId: server?.spanId });
    expect(client?.attributes["http.response.status_code"] ?? client?.attributes["http.status_code"]).toBe("200");
    expect(called).toMatchObject({
      status: 200,
      downstream_saw: `00-4bf92f3577b34da6a3ce929d0e0e4736-${client?.spanId}-01`,
    });
  }, 30_000);
});
