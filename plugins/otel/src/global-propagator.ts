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
import {
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBERS,
  formatTraceparent,
  type Propagators,
  parseBaggageHeader,
  parseTraceparent,
  parseTracestate,
} from "./propagation.ts";
import type { ParentContext } from "./tracer.ts";

/**
 * The `baggage` header for API baggage: members percent-encoded, metadata kept, within the W3C
 * limits (64 members, 8192 bytes: members that do not fit are left out).
 */
export function serializeBaggage(baggage: Baggage): string {
  let out = "";
  let members = 0;
  for (const [key, entry] of baggage.getAllEntries()) {
    if (members >= BAGGAGE_MAX_MEMBERS) break;
    const metadata = entry.metadata?.toString();
    const member = `${encodeURIComponent(key)}=${encodeURIComponent(entry.value)}${metadata ? `;${metadata}` : ""}`;
    if (out.length + member.length + (members > 0 ? 1 : 0) > BAGGAGE_MAX_BYTES) continue;
    out += members > 0 ? `,${member}` : member;
    members++;
  }
  return out;
}

/**
 * Parses a `baggage` header into entries: the members {@link parseBaggageHeader} keeps (well
 * formed, within the W3C limits of 64 members and 8192 bytes), percent-decoded; a member with a
 * bad escape is skipped alone.
 */
export function parseBaggage(header: string): Array<[string, { value: string; metadata?: string }]> {
  const out: Array<[string, { value: string; metadata?: string }]> = [];
  const checked = parseBaggageHeader(header);
  if (checked === undefined) return out;
  for (const member of checked.split(",")) {
    const [pair = "", ...properties] = member.split(";");
    const at = pair.indexOf("=");
    try {
      const key = decodeURIComponent(pair.slice(0, at));
      const value = decodeURIComponent(pair.slice(at + 1));
      out.push([key, properties.length > 0 ? { value, metadata: properties.join(";") } : { value }]);
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
