import { describe, expect, test } from "bun:test";
import { extract, formatTraceparent, parsePropagators, parseTraceparent, parseTracestate } from "./propagation.ts";
import { createSampler, traceIdRatio } from "./sampler.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const SPAN = "b7ad6b7169203331";
const both = { traceContext: true, baggage: true };

describe("W3C trace context", () => {
  test("a valid traceparent is read with its sampled flag", () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled).toBe(false);
    // A future version may append fields; its first four are still understood.
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-03-extra`)).toEqual({ traceId: TRACE, spanId: SPAN, sampled: true });
  });

  test("malformed or invalid traceparents are ignored", () => {
    for (const bad of [
      "",
      "garbage",
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `00-${"0".repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${"0".repeat(16)}-01`,
      `ff-${TRACE}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${TRACE.slice(1)}-${SPAN}-01`,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
  });

  test("tracestate is kept only when well formed", () => {
    expect(parseTracestate("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7")).toBe("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    expect(parseTracestate("no-equals-sign")).toBeUndefined();
    expect(parseTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(","))).toBeUndefined();
  });

  test("extract reads headers case-insensitively from Headers and plain records, with baggage", () => {
    const headers = new Headers({ TraceParent: `00-${TRACE}-${SPAN}-01`, tracestate: "a=1", baggage: "user=ada" });
    expect(extract(headers, both)).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      sampled: true,
      traceState: "a=1",
      baggage: "user=ada",
    });
    expect(extract({ Traceparent: `00-${TRACE}-${SPAN}-00` }, both)).toMatchObject({ traceId: TRACE, sampled: false });
    expect(extract({ traceparent: `00-${TRACE}-${SPAN}-01` }, { traceContext: false, baggage: false })).toBeUndefined();
    expect(
      extract({ traceparent: `00-${TRACE}-${SPAN}-01`, baggage: "x=1" }, { traceContext: true, baggage: false })
        ?.baggage,
    ).toBeUndefined();
  });

  test("traceparent is formatted as version 00", () => {
    expect(formatTraceparent(TRACE, SPAN, true)).toBe(`00-${TRACE}-${SPAN}-01`);
    expect(formatTraceparent(TRACE, SPAN, false)).toBe(`00-${TRACE}-${SPAN}-00`);
  });

  test("OTEL_PROPAGATORS: none turns propagation off, unknown names are reported", () => {
    expect(parsePropagators(["tracecontext", "baggage"]).propagators).toEqual(both);
    expect(parsePropagators(["none"]).propagators).toEqual({ traceContext: false, baggage: false });
    expect(parsePropagators(["tracecontext", "b3", "xray"]).unknown).toEqual(["b3", "xray"]);
  });
});

describe("samplers", () => {
  // Evenly spread ids so the ratio's outcome is exact, not statistical.
  const ids = Array.from(
    { length: 1000 },
    (_, i) =>
      `${"a".repeat(19)}${Math.floor((i / 1000) * 2 ** 52)
        .toString(16)
        .padStart(13, "0")}`,
  );

  test("always_on, always_off and traceidratio decide new traces", () => {
    expect(ids.every((id) => createSampler("always_on", undefined)(id, undefined))).toBe(true);
    expect(ids.some((id) => createSampler("always_off", undefined)(id, undefined))).toBe(false);
    expect(ids.filter((id) => createSampler("traceidratio", 0.25)(id, undefined))).toHaveLength(250);
    expect(ids.filter(traceIdRatio(0))).toHaveLength(0);
    expect(ids.filter(traceIdRatio(1))).toHaveLength(1000);
  });

  test("the ratio decision depends on the trace id alone, so every service agrees", () => {
    const a = createSampler("traceidratio", 0.5);
    const b = createSampler("parentbased_traceidratio", 0.5);
    for (const id of ids) expect(a(id, undefined)).toBe(b(id, undefined));
  });

  test("parent-based samplers follow the parent, local or remote; plain ones ignore it", () => {
    const parentBased = createSampler("parentbased_always_off", undefined);
    expect(parentBased(TRACE, { sampled: true, remote: true })).toBe(true);
    expect(parentBased(TRACE, undefined)).toBe(false);
    expect(createSampler("parentbased_always_on", undefined)(TRACE, { sampled: false, remote: false })).toBe(false);
    expect(createSampler("always_on", undefined)(TRACE, { sampled: false, remote: true })).toBe(true);
  });
});
