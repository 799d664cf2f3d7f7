import { describe, expect, test } from "bun:test";
import { newSpanId, newTraceId, tableHex, toHex } from "./ids.ts";

describe("ids", () => {
  test("trace and span ids are lowercase hex of the W3C lengths, and differ each time", () => {
    const traces = new Set(Array.from({ length: 2000 }, newTraceId));
    const spans = new Set(Array.from({ length: 2000 }, newSpanId));
    expect(traces.size).toBe(2000);
    expect(spans.size).toBe(2000);
    for (const id of traces) expect(id).toMatch(/^[0-9a-f]{32}$/);
    for (const id of spans) expect(id).toMatch(/^[0-9a-f]{16}$/);
  });

  test("the native and the table hex agree on every byte value, zeros kept", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(toHex(bytes)).toBe(tableHex(bytes));
    expect(tableHex(new Uint8Array([0, 1, 16, 255]))).toBe("000110ff");
  });
});
