import { afterEach, describe, expect, test } from "bun:test";
import { Redactor } from "@twelvefold/kernel";
import { type OtlpOptions, otlpHttpExporter } from "./otlp.ts";
import { type OtlpReceiver, otlpReceiver } from "./receiver.ts";
import type { SpanData } from "./span.ts";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const span = (overrides: Partial<SpanData> = {}): SpanData => ({
  name: "GET /chat/sessions/:id",
  kind: "server",
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
  parentSpanId: "00f067aa0ba902b7",
  parentRemote: true,
  traceState: "vendor=abc",
  startTime: 1_764_000_000_000.25,
  endTime: 1_764_000_000_012.5,
  attributes: { "http.request.method": "GET", "http.response.status_code": 200, ratio: 0.5, tags: ["a", "b"] },
  events: [{ name: "retry", time: 1_764_000_000_005, attributes: { attempt: 2 } }],
  status: { code: "error", message: "upstream failed" },
  links: [],
  droppedAttributes: 0,
  droppedEvents: 0,
  droppedLinks: 0,
  scope: undefined,
  ...overrides,
});

function options(overrides: Partial<OtlpOptions> = {}): OtlpOptions {
  return {
    url: `${receiver?.endpoint}/v1/traces`,
    protocol: "http/protobuf",
    headers: { "x-tenant": "t1" },
    compression: "none",
    timeoutMs: 2_000,
    resource: { "service.name": "agent", "service.version": "1.0.0" },
    scope: { name: "@twelvefold/otel", version: "0.1.0" },
    redact: (text) => text,
    ...overrides,
  };
}

describe("otlpHttpExporter", () => {
  for (const protocol of ["http/protobuf", "http/json"] as const) {
    test(`sends spans a collector decodes (${protocol})`, async () => {
      receiver = otlpReceiver();
      const exporter = await otlpHttpExporter(options({ protocol }));
      await exporter.export(
        [span(), span({ spanId: "1111111111111111", name: "child", kind: "client" })],
        AbortSignal.timeout(2_000),
      );
      const [first, second] = receiver.spans;
      expect(receiver.requests[0]).toMatchObject({ path: "/v1/traces" });
      expect(receiver.requests[0]?.contentType).toBe(
        protocol === "http/json" ? "application/json" : "application/x-protobuf",
      );
      expect(first).toMatchObject({
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        parentSpanId: "00f067aa0ba902b7",
        name: "GET /chat/sessions/:id",
        kind: 2,
        attributes: { "http.request.method": "GET", "http.response.status_code": "200", ratio: 0.5, tags: ["a", "b"] },
        resource: { "service.name": "agent", "service.version": "1.0.0" },
        scope: "@twelvefold/otel",
        status: { code: 2, message: "upstream failed" },
        events: [{ name: "retry", attributes: { attempt: "2" } }],
      });
      expect(second).toMatchObject({ name: "child", kind: 3 });
    });
  }

  test("gzip compression is declared and decodes", async () => {
    receiver = otlpReceiver();
    const exporter = await otlpHttpExporter(options({ compression: "gzip" }));
    await exporter.export([span()], AbortSignal.timeout(2_000));
    expect(receiver.requests[0]?.encoding).toBe("gzip");
    expect(receiver.spans).toHaveLength(1);
  });

  test("retries a collector that answers 503, and fails with a coded error on 400", async () => {
    receiver = otlpReceiver();
    const exporter = await otlpHttpExporter(options());
    receiver.failNext(503);
    await exporter.export([span()], AbortSignal.timeout(5_000));
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.spans).toHaveLength(1);
    receiver.failNext(400);
    const failure = exporter.export([span()], AbortSignal.timeout(5_000));
    await expect(failure).rejects.toMatchObject({ code: "TF_OTEL_EXPORT_FAILED", retryable: true });
    await expect(failure).rejects.toThrow(/HTTP 400/);
  });

  test("secret values are masked in attributes, events and status before they leave the process", async () => {
    receiver = otlpReceiver();
    const redactor = new Redactor();
    redactor.addSecrets(["sk-secret-1234567"]);
    const exporter = await otlpHttpExporter(options({ redact: (t) => redactor.string(t) }));
    await exporter.export(
      [
        span({
          attributes: { "url.full": "https://api/x?key=sk-secret-1234567" },
          events: [{ name: "exception", time: 1, attributes: { "exception.message": "bad sk-secret-1234567" } }],
          status: { code: "error", message: "sk-secret-1234567 rejected" },
        }),
      ],
      AbortSignal.timeout(2_000),
    );
    expect(JSON.stringify(receiver.spans)).not.toContain("sk-secret-1234567");
  });
});
