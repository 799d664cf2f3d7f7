/**
 * W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage headers: parsing what comes in,
 * formatting what goes out. Invalid input is ignored, as the specification asks.
 */

/** A remote parent read from a carrier. */
export interface RemoteContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  readonly traceState: string | undefined;
  readonly baggage: string | undefined;
}

/** Which propagators OTEL_PROPAGATORS turned on. */
export interface Propagators {
  readonly traceContext: boolean;
  readonly baggage: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);
const TRACESTATE_MEMBER =
  /^[a-z0-9][-a-z0-9_*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

type Carrier = Readonly<Record<string, string>> | Headers;

function header(carrier: Carrier, name: string): string | undefined {
  if (carrier instanceof Headers) return carrier.get(name) ?? undefined;
  const direct = carrier[name];
  if (direct !== undefined) return direct;
  for (const key in carrier) if (key.toLowerCase() === name) return carrier[key];
  return undefined;
}

/** Parses a `traceparent` value; `undefined` when it is malformed or names an invalid id. */
export function parseTraceparent(value: string): { traceId: string; spanId: string; sampled: boolean } | undefined {
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  // Version ff is forbidden; version 00 has exactly four fields; later versions may add fields.
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** Keeps a `tracestate` only when every member is well formed and there are at most 32. */
export function parseTracestate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const members = value
    .split(",")
    .map((m) => m.trim())
    .filter(Boolean);
  if (members.length === 0 || members.length > 32) return undefined;
  return members.every((m) => TRACESTATE_MEMBER.test(m)) ? members.join(",") : undefined;
}

/**
 * W3C Baggage limits (https://www.w3.org/TR/baggage/#limits): a platform must propagate up to 64
 * list-members and up to 8192 bytes of baggage-string, and may drop members beyond either. Both
 * are held as maximums here, so what a client sends never grows every outgoing call past them.
 */
export const BAGGAGE_MAX_MEMBERS = 64;
/** See {@link BAGGAGE_MAX_MEMBERS}. */
export const BAGGAGE_MAX_BYTES = 8192;

/** `key` is an RFC 9110 token. */
const BAGGAGE_KEY = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** `value` is `*baggage-octet`: printable ASCII but space, `"`, `,`, `;` and `\`. */
const BAGGAGE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/** `key OWS "=" OWS value`, or a bare key where `bare` allows it (a property); tidied, or undefined. */
function baggagePair(text: string, bare: boolean): string | undefined {
  const at = text.indexOf("=");
  if (at < 0) {
    const key = text.trim();
    return bare && BAGGAGE_KEY.test(key) ? key : undefined;
  }
  const key = text.slice(0, at).trim();
  const value = text.slice(at + 1).trim();
  return BAGGAGE_KEY.test(key) && BAGGAGE_VALUE.test(value) ? `${key}=${value}` : undefined;
}

/** One list-member with its properties, tidied of optional whitespace; undefined when malformed. */
function baggageMember(text: string): string | undefined {
  const parts = text.split(";");
  const pair = baggagePair(parts[0] as string, false);
  if (pair === undefined) return undefined;
  let member = pair;
  for (let i = 1; i < parts.length; i++) {
    const property = baggagePair(parts[i] as string, true);
    if (property === undefined) return undefined;
    member += `;${property}`;
  }
  return member;
}

/**
 * The well-formed part of an incoming `baggage` header, within the W3C limits: a malformed
 * list-member is dropped (the others stay), and members past {@link BAGGAGE_MAX_MEMBERS} or past
 * {@link BAGGAGE_MAX_BYTES} of baggage-string are dropped. `undefined` when nothing is left.
 *
 * @example
 * ```ts
 * parseBaggageHeader("tenant=acme, bad key=x ,plan=pro;ttl=60"); // "tenant=acme,plan=pro;ttl=60"
 * ```
 */
export function parseBaggageHeader(value: string): string | undefined {
  let kept = "";
  let members = 0;
  for (const text of value.split(",")) {
    if (members >= BAGGAGE_MAX_MEMBERS) break;
    const member = baggageMember(text);
    // Members are ASCII (the grammar allows nothing else), so length is bytes.
    if (member === undefined || kept.length + member.length + (members > 0 ? 1 : 0) > BAGGAGE_MAX_BYTES) continue;
    kept = members > 0 ? `${kept},${member}` : member;
    members++;
  }
  return members > 0 ? kept : undefined;
}

/** Reads the remote parent from incoming headers. */
export function extract(carrier: Carrier, propagators: Propagators): RemoteContext | undefined {
  if (!propagators.traceContext) return undefined;
  const raw = header(carrier, "traceparent");
  const parent = raw === undefined ? undefined : parseTraceparent(raw);
  if (!parent) return undefined;
  const incoming = propagators.baggage ? header(carrier, "baggage") : undefined;
  const baggage = incoming === undefined ? undefined : parseBaggageHeader(incoming);
  return { ...parent, traceState: parseTracestate(header(carrier, "tracestate")), baggage };
}

/** Formats a version-00 `traceparent`. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

/** Writes one header into a carrier of either shape. */
export function setHeader(carrier: Record<string, string> | Headers, name: string, value: string): void {
  if (carrier instanceof Headers) carrier.set(name, value);
  else carrier[name] = value;
}

/** Parses OTEL_PROPAGATORS; unknown names are returned so the plugin can warn about them. */
export function parsePropagators(names: readonly string[]): { propagators: Propagators; unknown: string[] } {
  const set = new Set(names.map((n) => n.toLowerCase()));
  const none = set.has("none");
  const known = new Set(["tracecontext", "baggage", "none"]);
  return {
    propagators: { traceContext: !none && set.has("tracecontext"), baggage: !none && set.has("baggage") },
    unknown: [...set].filter((n) => !known.has(n)),
  };
}
