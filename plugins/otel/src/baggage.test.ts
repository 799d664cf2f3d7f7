import { describe, expect, test } from "bun:test";
import { propagation } from "@opentelemetry/api";
import { parseBaggage, serializeBaggage } from "./global-propagator.ts";
import { BAGGAGE_MAX_BYTES, BAGGAGE_MAX_MEMBERS, extract, parseBaggageHeader } from "./propagation.ts";
import { createSampler } from "./sampler.ts";
import { LeanTracer } from "./tracer.ts";

const INCOMING = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

describe("W3C Baggage", () => {
  test("malformed list-members are dropped and the well-formed ones kept, tidied of optional whitespace", () => {
    expect(parseBaggageHeader("tenant=acme, bad key=x , plan = pro ; ttl = 60")).toBe("tenant=acme,plan=pro;ttl=60");
    // A quoted value, a comma-only member, a missing key, a bare member without "=", a property with a space.
    expect(parseBaggageHeader('a="q",,=v,d,e=1;bad prop,f=%20ok;flag')).toBe("f=%20ok;flag");
    expect(parseBaggageHeader(" , ;")).toBeUndefined();
    expect(parseBaggageHeader("")).toBeUndefined();
  });

  test("at most 64 members and 8192 bytes go on: 1,000 entries and 9.8 KB come back within the limits", () => {
    const many = Array.from({ length: 1000 }, (_, i) => `k${i}=v${i}`).join(",");
    const kept = parseBaggageHeader(many) as string;
    expect(kept.split(",")).toHaveLength(BAGGAGE_MAX_MEMBERS);
    expect(kept.startsWith("k0=v0,k1=v1,")).toBe(true);
    const large = Array.from({ length: 10 }, (_, i) => `k${i}=${"v".repeat(980)}`).join(",");
    expect(large.length).toBeGreaterThan(9_800);
    const trimmed = parseBaggageHeader(large) as string;
    expect(trimmed.length).toBeLessThanOrEqual(BAGGAGE_MAX_BYTES);
    expect(trimmed.split(",")).toHaveLength(8);
    // A member too big to fit is dropped; a smaller one after it still goes on.
    expect(parseBaggageHeader(`a=${"x".repeat(9000)},b=1`)).toBe("b=1");
  });

  test("what goes out on outgoing calls is the checked baggage, never the raw header", () => {
    const tracer = new LeanTracer({
      sampler: createSampler("parentbased_always_on", undefined),
      propagators: { traceContext: true, baggage: true },
      limits: { attributeCount: 128, eventCount: 128, valueLength: 4096 },
      onEnd: () => {},
      describeError: () => ({}),
      now: () => 0,
    });
    const hostile = `${Array.from({ length: 1000 }, (_, i) => `k${i}=v`).join(",")},evil=a b`;
    const server = tracer.startSpan("GET /", { kind: "server", carrier: { traceparent: INCOMING, baggage: hostile } });
    const outgoing: Record<string, string> = {};
    tracer.withSpan(server, () => tracer.inject(outgoing));
    server.end();
    expect(outgoing.baggage?.split(",")).toHaveLength(64);
    expect(outgoing.baggage).not.toContain("evil");
    expect(extract({ traceparent: INCOMING, baggage: "x y=1" }, { traceContext: true, baggage: true })?.baggage).toBe(
      undefined,
    );
  });
});

describe("W3C Baggage through the @opentelemetry/api propagator", () => {
  test("parsed and serialized within the same limits, malformed members dropped", () => {
    const many = Array.from({ length: 1000 }, (_, i) => `k${i}=v%20${i}`).join(",");
    const parsed = parseBaggage(`${many},bad key=1`);
    expect(parsed).toHaveLength(BAGGAGE_MAX_MEMBERS);
    expect(parsed[0]).toEqual(["k0", { value: "v 0" }]);
    expect(parseBaggage("a=%E0%A4%A,b=2;p=1")).toEqual([["b", { value: "2", metadata: "p=1" }]]);
    const entries = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key${i}`, { value: "x".repeat(100) }]));
    const header = serializeBaggage(propagation.createBaggage(entries));
    expect(header.length).toBeLessThanOrEqual(BAGGAGE_MAX_BYTES);
    expect(header.split(",").length).toBeLessThanOrEqual(BAGGAGE_MAX_MEMBERS);
    expect(header.split(",").length).toBeGreaterThan(50);
  });
});
