import { afterEach, describe, expect, test } from "bun:test";
import { type OtlpReceiver, otlpReceiver } from "./receiver.ts";
import { spawnApp, watchStdout } from "./testdata/child.ts";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

describe("shutdown", () => {
  test("spans made just before SIGTERM reach a real OTLP/HTTP receiver before the process exits", async () => {
    receiver = otlpReceiver();
    const child = spawnApp("sigterm-app.ts", {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      // Nothing would be exported for ten minutes: only the shutdown flush can deliver these spans.
      OTEL_BSP_SCHEDULE_DELAY: "600000",
      TEST_SPANS: "25",
    });
    const lines: string[] = [];
    try {
      await watchStdout(child.stdout, "spans made", lines);
      expect(receiver.spans).toHaveLength(0);
      child.kill("SIGTERM");
      const code = await child.exited;
      expect({ code, stderr: await new Response(child.stderr).text() }).toEqual({ code: 0, stderr: "" });
    } finally {
      child.kill("SIGKILL");
    }
    const names = receiver.spans.map((s) => s.name);
    expect(names.filter((n) => n.startsWith("request "))).toHaveLength(25);
    expect(names.filter((n) => n === "db query")).toHaveLength(25);
    expect(names).toContain("drain work");
    expect(receiver.spans[0]?.resource["service.name"]).toBe("sigterm-app");
    expect(receiver.requests.every((r) => r.contentType === "application/x-protobuf")).toBe(true);
  }, 30_000);
});
