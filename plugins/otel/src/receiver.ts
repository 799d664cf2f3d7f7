/**
 * A minimal OTLP/HTTP trace receiver on loopback, for tests: it decodes protobuf (with a small
 * wire-format reader) and JSON requests, gzip or not, into plain span records.
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

/** A running receiver. */
export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Requests seen, with their content type and encoding. */
  readonly requests: Array<{ readonly path: string; readonly contentType: string; readonly encoding: string }>;
  /** Status codes to answer with before accepting (e.g. `[503]` to test retries). */
  failNext(...statuses: number[]): void;
  /** Resolves once at least `count` spans arrived, or rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
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
      spans.push(...(contentType.includes("json") ? decodeJson(body) : decodeProtobuf(body)));
      for (const wake of waiters) wake();
      return new Response(contentType.includes("json") ? "{}" : new Uint8Array(), {
        headers: { "content-type": contentType },
      });
    },
  });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    spans,
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
    async close() {
      await server.stop(true);
    },
  };
}
