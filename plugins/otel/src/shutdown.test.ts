import { afterEach, describe, expect, test } from "bun:test";
import { type OtlpReceiver, otlpReceiver } from "./receiver.ts";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** Reads stdout to the end (a closed pipe would make the child's logging fail), resolving `seen` at `needle`. */
function watchStdout(stream: ReadableStream<Uint8Array>, needle: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of stream) {
        buffer += decoder.decode(chunk, { stream: true });
        const complete = buffer.split("\n");
        buffer = complete.pop() ?? "";
        lines.push(...complete);
        if (complete.some((l) => l.includes(needle))) resolve();
      }
      reject(new Error(`process ended before printing "${needle}": ${lines.join("\n")}`));
    })();
  });
}

describe("shutdown", () => {
  test("spans made just before SIGTERM reach a real OTLP/HTTP receiver before the process exits", async () => {
    receiver = otlpReceiver();
    const child = Bun.spawn(["bun", new URL("./testdata/sigterm-app.ts", import.meta.url).pathname], {
      env: {
        PATH: Bun.env.PATH ?? "",
        ENVIRONMENT: "testing",
        LOG_LEVEL: "info",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        // Nothing would be exported for ten minutes: only the shutdown flush can deliver these spans.
        OTEL_BSP_SCHEDULE_DELAY: "600000",
        TEST_SPANS: "25",
      },
      stdout: "pipe",
      stderr: "pipe",
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
