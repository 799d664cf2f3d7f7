/**
 * Trace and span ids: random, lowercase hex, never all zeros (W3C Trace Context). Random bytes
 * come from a pooled buffer, so one id costs a slice of it rather than a crypto call. Where the
 * runtime has `Uint8Array.prototype.toHex` (Bun, Deno) the id is one flat string made natively;
 * elsewhere (Node 20) a byte table builds it, and the result is a rope that costs a flattening
 * the first time a log line or an exporter reads it.
 */

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const POOL_SIZE = 8192;
const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;

type ToHex = (this: Uint8Array) => string;
const nativeToHex = (Uint8Array.prototype as { toHex?: ToHex }).toHex;

function tableHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX[byte];
  return out;
}

/** Lowercase hex of `bytes`; exported for the test that checks both paths agree. */
export const toHex: (bytes: Uint8Array) => string = nativeToHex ? (bytes) => nativeToHex.call(bytes) : tableHex;
export { tableHex };

function randomHex(length: number): string {
  if (offset + length > POOL_SIZE) {
    crypto.getRandomValues(pool);
    offset = 0;
  }
  const start = offset;
  offset += length;
  let zero = true;
  for (let i = start; i < offset && zero; i++) zero = pool[i] === 0;
  return zero ? randomHex(length) : toHex(pool.subarray(start, offset));
}

/** A new 16-byte trace id as 32 hex digits. */
export function newTraceId(): string {
  return randomHex(16);
}

/** A new 8-byte span id as 16 hex digits. */
export function newSpanId(): string {
  return randomHex(8);
}
