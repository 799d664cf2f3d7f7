/**
 * A minimal OTLP/HTTP receiver on loopback, for tests: it decodes trace requests (protobuf, with a
 * small wire-format reader, or JSON) and metrics and logs requests (protobuf), gzip or not, into
 * plain records. Requests to a path ending `/v1/metrics` or `/v1/logs` are metrics or logs; any
 * other path is traces.
 */

/** A span as the receiver decoded it. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind number: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly resource: Readonly<Record<string, unknown>>;
  readonly scope: string;
  readonly status: { readonly code: number; readonly message: string };
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Readonly<Record<string, unknown>> }>;
}

/** One data point of a received metric: a number, or a histogram's count, sum and buckets. */
export interface ReceivedPoint {
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly value?: number;
  readonly count?: number;
  readonly sum?: number;
  readonly bucketCounts?: readonly number[];
  readonly bounds?: readonly number[];
}

/** A metric as the receiver decoded it. */
export interface ReceivedMetric {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly type: "gauge" | "sum" | "histogram";
  /** Sums: whether the sum only goes up. */
  readonly monotonic?: boolean;
  /** 1 delta, 2 cumulative (sums and histograms). */
  readonly temporality?: number;
  readonly points: readonly ReceivedPoint[];
  readonly resource: Readonly<Record<string, unknown>>;
  readonly scope: string;
}

/** A log record as the receiver decoded it. */
export interface ReceivedLog {
  readonly body: unknown;
  readonly severityNumber: number;
  readonly severityText: string;
  /** Epoch milliseconds. */
  readonly time: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly traceId: string;
  readonly spanId: string;
  readonly resource: Readonly<Record<string, unknown>>;
  readonly scope: string;
}

/** A running receiver. */
export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  readonly logs: ReceivedLog[];
  /** Requests seen, with their content type and encoding. */
  readonly requests: Array<{ readonly path: string; readonly contentType: string; readonly encoding: string }>;
  /** Status codes to answer with before accepting (e.g. `[503]` to test retries). */
  failNext(...statuses: number[]): void;
  /** Resolves once at least `count` spans arrived, or rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Resolves once `ready()` is true after a request arrived (or now), or rejects after `timeoutMs`. */
  waitUntil(ready: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

type Fields = Map<number, Array<bigint | Uint8Array>>;

function readVarint(buf: Uint8Array, pos: { at: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[pos.at++] as number;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7n;
  }
}

function fields(buf: Uint8Array): Fields {
  const out: Fields = new Map();
  const pos = { at: 0 };
  while (pos.at < buf.length) {
    const key = Number(readVarint(buf, pos));
    const field = key >>> 3;
    const wire = key & 7;
    let value: bigint | Uint8Array;
    if (wire === 0) value = readVarint(buf, pos);
    else if (wire === 1) {
      value = new DataView(buf.buffer, buf.byteOffset + pos.at, 8).getBigUint64(0, true);
      pos.at += 8;
    } else if (wire === 2) {
      const length = Number(readVarint(buf, pos));
      value = buf.subarray(pos.at, pos.at + length);
      pos.at += length;
    } else if (wire === 5) {
      value = BigInt(new DataView(buf.buffer, buf.byteOffset + pos.at, 4).getUint32(0, true));
      pos.at += 4;
    } else throw new Error(`receiver: unsupported wire type ${wire}`);
    const list = out.get(field) ?? [];
    list.push(value);
    out.set(field, list);
  }
  return out;
}

const text = (v: bigint | Uint8Array | undefined) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : "");
const hex = (v: bigint | Uint8Array | undefined) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : "");
const bytesOf = (f: Fields, n: number) => (f.get(n) ?? []).filter((x): x is Uint8Array => x instanceof Uint8Array);

function anyValue(buf: Uint8Array): unknown {
  const f = fields(buf);
  if (f.has(1)) return text(f.get(1)?.[0]);
  if (f.has(2)) return Boolean(f.get(2)?.[0]);
  if (f.has(3)) return BigInt.asIntN(64, f.get(3)?.[0] as bigint).toString();
  if (f.has(4)) return new Float64Array(new BigUint64Array([f.get(4)?.[0] as bigint]).buffer)[0];
  if (f.has(5)) return bytesOf(fields(bytesOf(f, 5)[0] as Uint8Array), 1).map(anyValue);
  if (f.has(6)) return protoAttributes(bytesOf(fields(bytesOf(f, 6)[0] as Uint8Array), 1));
  return undefined;
}

function protoAttributes(list: Uint8Array[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list) {
    const f = fields(kv);
    const value = bytesOf(f, 2)[0];
    out[text(f.get(1)?.[0])] = value ? anyValue(value) : undefined;
  }
  return out;
}

function decodeProtobuf(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of bytesOf(fields(body), 1)) {
    const r = fields(rs);
    const resourceBytes = bytesOf(r, 1)[0];
    const resource = resourceBytes ? protoAttributes(bytesOf(fields(resourceBytes), 1)) : {};
    for (const ss of bytesOf(r, 2)) {
      const s = fields(ss);
      const scopeBytes = bytesOf(s, 1)[0];
      const scope = scopeBytes ? text(fields(scopeBytes).get(1)?.[0]) : "";
      for (const raw of bytesOf(s, 2)) {
        const sp = fields(raw);
        const statusBytes = bytesOf(sp, 15)[0];
        const status = statusBytes ? fields(statusBytes) : new Map();
        spans.push({
          traceId: hex(sp.get(1)?.[0]),
          spanId: hex(sp.get(2)?.[0]),
          parentSpanId: hex(sp.get(4)?.[0]),
          name: text(sp.get(5)?.[0]),
          kind: Number(sp.get(6)?.[0] ?? 0n),
          attributes: protoAttributes(bytesOf(sp, 9)),
          resource,
          scope,
          status: { code: Number(status.get(3)?.[0] ?? 0n), message: text(status.get(2)?.[0]) },
          events: bytesOf(sp, 11).map((e) => {
            const ev = fields(e);
            return { name: text(ev.get(2)?.[0]), attributes: protoAttributes(bytesOf(ev, 3)) };
          }),
        });
      }
    }
  }
  return spans;
}

const double = (v: bigint | Uint8Array | undefined) =>
  typeof v === "bigint" ? (new Float64Array(new BigUint64Array([v]).buffer)[0] as number) : undefined;
const nanosToMillis = (v: bigint | Uint8Array | undefined) => (typeof v === "bigint" ? Number(v / 1_000_000n) : 0);

/** Packed fixed64 (`double` true: doubles) values of a length-delimited field. */
function packed64(bytes: Uint8Array | undefined, asDouble: boolean): number[] {
  if (!bytes) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let at = 0; at + 8 <= bytes.byteLength; at += 8) {
    out.push(asDouble ? view.getFloat64(at, true) : Number(view.getBigUint64(at, true)));
  }
  return out;
}

function resourceAndScopes(body: Uint8Array, scopesField: number, itemsField: number) {
  const out: Array<{ resource: Record<string, unknown>; scope: string; item: Uint8Array }> = [];
  for (const rs of bytesOf(fields(body), 1)) {
    const r = fields(rs);
    const resourceBytes = bytesOf(r, 1)[0];
    const resource = resourceBytes ? protoAttributes(bytesOf(fields(resourceBytes), 1)) : {};
    for (const ss of bytesOf(r, scopesField)) {
      const s = fields(ss);
      const scopeBytes = bytesOf(s, 1)[0];
      const scope = scopeBytes ? text(fields(scopeBytes).get(1)?.[0]) : "";
      for (const item of bytesOf(s, itemsField)) out.push({ resource, scope, item });
    }
  }
  return out;
}

function decodeMetrics(body: Uint8Array): ReceivedMetric[] {
  return resourceAndScopes(body, 2, 2).map(({ resource, scope, item }) => {
    const m = fields(item);
    const base = {
      name: text(m.get(1)?.[0]),
      description: text(m.get(2)?.[0]),
      unit: text(m.get(3)?.[0]),
      resource,
      scope,
    };
    const histogram = bytesOf(m, 9)[0];
    if (histogram) {
      const h = fields(histogram);
      const points = bytesOf(h, 1).map((raw) => {
        const p = fields(raw);
        return {
          attributes: protoAttributes(bytesOf(p, 9)),
          count: Number(p.get(4)?.[0] ?? 0n),
          sum: double(p.get(5)?.[0]),
          bucketCounts: packed64(bytesOf(p, 6)[0], false),
          bounds: packed64(bytesOf(p, 7)[0], true),
        };
      });
      return { ...base, type: "histogram" as const, temporality: Number(h.get(2)?.[0] ?? 0n), points };
    }
    const sum = bytesOf(m, 7)[0];
    const number = fields(sum ?? bytesOf(m, 5)[0] ?? new Uint8Array());
    const points = bytesOf(number, 1).map((raw) => {
      const p = fields(raw);
      const asInt = p.get(6)?.[0];
      return {
        attributes: protoAttributes(bytesOf(p, 7)),
        value: typeof asInt === "bigint" ? Number(BigInt.asIntN(64, asInt)) : double(p.get(4)?.[0]),
      };
    });
    if (!sum) return { ...base, type: "gauge" as const, points };
    return {
      ...base,
      type: "sum" as const,
      temporality: Number(number.get(2)?.[0] ?? 0n),
      monotonic: Boolean(number.get(3)?.[0]),
      points,
    };
  });
}

function decodeLogs(body: Uint8Array): ReceivedLog[] {
  return resourceAndScopes(body, 2, 2).map(({ resource, scope, item }) => {
    const l = fields(item);
    const value = bytesOf(l, 5)[0];
    return {
      time: nanosToMillis(l.get(1)?.[0]),
      severityNumber: Number(l.get(2)?.[0] ?? 0n),
      severityText: text(l.get(3)?.[0]),
      body: value ? anyValue(value) : undefined,
      attributes: protoAttributes(bytesOf(l, 6)),
      traceId: hex(l.get(9)?.[0]),
      spanId: hex(l.get(10)?.[0]),
      resource,
      scope,
    };
  });
}

interface JsonKeyValue {
  key: string;
  value: Record<string, unknown>;
}

function jsonValue(value: Record<string, unknown>): unknown {
  if ("arrayValue" in value) {
    return ((value.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(jsonValue);
  }
  const first = Object.values(value)[0];
  return typeof first === "number" && "intValue" in value ? String(first) : first;
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));
}

function decodeJson(body: Uint8Array): ReceivedSpan[] {
  type JsonSpan = {
    traceId: string;
    spanId: string;
    parentSpanId?: string;
    name: string;
    kind: number;
    attributes?: JsonKeyValue[];
    status?: { code?: number; message?: string };
    events?: Array<{ name: string; attributes?: JsonKeyValue[] }>;
  };
  const request = JSON.parse(new TextDecoder().decode(body)) as {
    resourceSpans?: Array<{
      resource?: { attributes?: JsonKeyValue[] };
      scopeSpans?: Array<{ scope?: { name?: string }; spans?: JsonSpan[] }>;
    }>;
  };
  return (request.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? "",
        name: s.name,
        kind: s.kind,
        attributes: jsonAttributes(s.attributes),
        resource: jsonAttributes(rs.resource?.attributes),
        scope: ss.scope?.name ?? "",
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? "" },
        events: (s.events ?? []).map((e) => ({ name: e.name, attributes: jsonAttributes(e.attributes) })),
      })),
    ),
  );
}

function unsupported(signal: string): never {
  throw new Error(`receiver: JSON ${signal} requests are not decoded; use http/protobuf`);
}

/**
 * Starts a receiver on 127.0.0.1 and a free port.
 *
 * @example
 * ```ts
 * const receiver = otlpReceiver();
 * // ... run an app with OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint ...
 * const spans = await receiver.waitFor(3);
 * await receiver.close();
 * ```
 */
export function otlpReceiver(): OtlpReceiver {
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[] = [];
  const logs: ReceivedLog[] = [];
  const requests: Array<{ path: string; contentType: string; encoding: string }> = [];
  const failures: number[] = [];
  const waiters = new Set<() => void>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const contentType = request.headers.get("content-type") ?? "";
      const encoding = request.headers.get("content-encoding") ?? "";
      requests.push({ path, contentType, encoding });
      let body = new Uint8Array(await request.arrayBuffer());
      const status = failures.shift();
      if (status !== undefined) return new Response("try later", { status });
      if (encoding === "gzip") body = Bun.gunzipSync(body);
      const json = contentType.includes("json");
      if (path.endsWith("/v1/metrics")) metrics.push(...(json ? unsupported("metrics") : decodeMetrics(body)));
      else if (path.endsWith("/v1/logs")) logs.push(...(json ? unsupported("logs") : decodeLogs(body)));
      else spans.push(...(json ? decodeJson(body) : decodeProtobuf(body)));
      for (const wake of waiters) wake();
      return new Response(contentType.includes("json") ? "{}" : new Uint8Array(), {
        headers: { "content-type": contentType },
      });
    },
  });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    spans,
    metrics,
    logs,
    requests,
    failNext: (...statuses) => failures.push(...statuses),
    waitFor(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (spans.length < count) return;
          cleanup();
          resolve(spans);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`receiver: ${spans.length} of ${count} spans arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    waitUntil(ready, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!ready()) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`receiver: the awaited telemetry did not arrive within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      await server.stop(true);
    },
  };
}
