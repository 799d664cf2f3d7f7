/**
 * Trace and span ids: random, lowercase hex, never all zeros (W3C Trace Context). Random bytes
 * come from a pooled buffer, turned into hex once per refill, so one id costs a slice of a string
 * rather than a crypto call, a typed-array view and a conversion. Where the
 * runtime has `Uint8Array.prototype.toHex` (Bun, Deno) the pool's hex is made natively;
 * elsewhere (Node 20) a byte table builds it, flattened once by the first slice taken from it.
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

/** The pool as hex, made once per refill: an id is then a slice of it, not a view and a conversion of its own. */
let poolHex = "";

function randomHex(length: number): string {
  if (offset + length > POOL_SIZE) {
    crypto.getRandomValues(pool);
    poolHex = toHex(pool);
    offset = 0;
  }
  const start = offset;
  offset += length;
  let zero = true;
  for (let i = start; i < offset && zero; i++) zero = pool[i] === 0;
  return zero ? randomHex(length) : poolHex.slice(start * 2, offset * 2);
}

/** A new 16-byte trace id as 32 hex digits. */
export function newTraceId(): string {
  return randomHex(16);
}

/** A new 8-byte span id as 16 hex digits. */
export function newSpanId(): string {
  return randomHex(8);
}
