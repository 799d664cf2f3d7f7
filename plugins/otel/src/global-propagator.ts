/**
 * The plugin's W3C propagation as the global propagator of @opentelemetry/api, so that
 * `propagation.inject` writes exactly the `traceparent` the plugin's own `Tracer.inject` would,
 * and `propagation.extract` reads incoming headers with the plugin's parser.
 */
import {
  type Baggage,
  baggageEntryMetadataFromString,
  type Context,
  createTraceState,
  propagation,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";
import { formatTraceparent, type Propagators, parseTraceparent, parseTracestate } from "./propagation.ts";
import type { ParentContext } from "./tracer.ts";

// W3C Baggage limits, as OpenTelemetry's own propagator applies them.
const MAX_MEMBERS = 180;
const MAX_MEMBER_LENGTH = 4096;
const MAX_TOTAL_LENGTH = 8192;

/** The `baggage` header for API baggage: members percent-encoded, metadata kept. */
export function serializeBaggage(baggage: Baggage): string {
  let out = "";
  for (const [key, entry] of baggage.getAllEntries()) {
    const metadata = entry.metadata?.toString();
    const member = `${encodeURIComponent(key)}=${encodeURIComponent(entry.value)}${metadata ? `;${metadata}` : ""}`;
    if (member.length > MAX_MEMBER_LENGTH || out.length + member.length + 1 > MAX_TOTAL_LENGTH) continue;
    out += out ? `,${member}` : member;
  }
  return out;
}

/** Parses a `baggage` header into entries; malformed members are skipped, as the specification asks. */
export function parseBaggage(header: string): Array<[string, { value: string; metadata?: string }]> {
  const out: Array<[string, { value: string; metadata?: string }]> = [];
  for (const member of header.split(",")) {
    if (out.length >= MAX_MEMBERS) break;
    if (member.length > MAX_MEMBER_LENGTH) continue;
    const [pair = "", ...properties] = member.split(";");
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    try {
      const key = decodeURIComponent(pair.slice(0, at).trim());
      const value = decodeURIComponent(pair.slice(at + 1).trim());
      if (!key) continue;
      const metadata = properties.map((p) => p.trim()).filter(Boolean);
      out.push([key, metadata.length > 0 ? { value, metadata: metadata.join(";") } : { value }]);
    } catch {
      // A bad percent-escape loses its member only.
    }
  }
  return out;
}

/** API baggage from a `baggage` header; `undefined` when no member is well formed. */
export function baggageFromHeader(header: string): Baggage | undefined {
  const entries = parseBaggage(header);
  if (entries.length === 0) return undefined;
  return propagation.createBaggage(
    Object.fromEntries(
      entries.map(([key, entry]) => [
        key,
        entry.metadata
          ? { value: entry.value, metadata: baggageEntryMetadataFromString(entry.metadata) }
          : { value: entry.value },
      ]),
    ),
  );
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

/**
 * W3C Trace Context and Baggage for the global API, following OTEL_PROPAGATORS like the plugin.
 * `resolve` finds the span (and baggage) a context carries; the bridge passes its reader.
 */
export class W3CPropagator implements TextMapPropagator {
  readonly #propagators: Propagators;
  readonly #resolve: (context: Context) => ParentContext | undefined;

  constructor(propagators: Propagators, resolve: (context: Context) => ParentContext | undefined) {
    this.#propagators = propagators;
    this.#resolve = resolve;
  }

  inject<C>(context: Context, carrier: C, setter: TextMapSetter<C>): void {
    const parent = this.#resolve(context);
    if (!parent) {
      // Baggage alone (no span) still travels when the baggage propagator is on.
      const baggage = this.#propagators.baggage ? propagation.getBaggage(context) : undefined;
      if (baggage) setter.set(carrier, "baggage", serializeBaggage(baggage));
      return;
    }
    if (this.#propagators.traceContext) {
      setter.set(carrier, "traceparent", formatTraceparent(parent.traceId, parent.spanId, parent.sampled));
      if (parent.traceState) setter.set(carrier, "tracestate", parent.traceState);
    }
    if (this.#propagators.baggage && parent.baggage) setter.set(carrier, "baggage", parent.baggage);
  }

  extract<C>(context: Context, carrier: C, getter: TextMapGetter<C>): Context {
    let out = context;
    if (this.#propagators.traceContext) {
      const raw = first(getter.get(carrier, "traceparent"));
      const parent = raw === undefined ? undefined : parseTraceparent(raw);
      if (parent) {
        const traceState = parseTracestate(first(getter.get(carrier, "tracestate")));
        out = trace.setSpanContext(out, {
          traceId: parent.traceId,
          spanId: parent.spanId,
          traceFlags: parent.sampled ? 1 : 0,
          isRemote: true,
          ...(traceState ? { traceState: createTraceState(traceState) } : {}),
        });
      }
    }
    if (this.#propagators.baggage) {
      const raw = first(getter.get(carrier, "baggage"));
      const baggage = raw ? baggageFromHeader(raw) : undefined;
      if (baggage) out = propagation.setBaggage(out, baggage);
    }
    return out;
  }

  fields(): string[] {
    const out: string[] = [];
    if (this.#propagators.traceContext) out.push("traceparent", "tracestate");
    if (this.#propagators.baggage) out.push("baggage");
    return out;
  }
}
