/**
 * Trace and span ids: random, lowercase hex, never all zeros (W3C Trace Context). Random bytes
 * come from a pooled buffer, so one id costs a table lookup per byte rather than a crypto call.
 */

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const POOL_SIZE = 8192;
const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;

function hex(bytes: number): string {
  if (offset + bytes > POOL_SIZE) {
    crypto.getRandomValues(pool);
    offset = 0;
  }
  let out = "";
  let zero = true;
  for (let i = 0; i < bytes; i++) {
    const byte = pool[offset++] as number;
    if (byte !== 0) zero = false;
    out += HEX[byte];
  }
  return zero ? hex(bytes) : out;
}

/** A new 16-byte trace id as 32 hex digits. */
export function newTraceId(): string {
  return hex(16);
}

/** A new 8-byte span id as 16 hex digits. */
export function newSpanId(): string {
  return hex(8);
}
