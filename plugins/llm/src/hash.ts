/**
 * A short stable hash of a string (32-bit FNV-1a, 8 hex digits): for ids that must be the same
 * for the same input, such as tool-call ids, and short enough for providers' 40-character limit.
 * Not for anything a collision would make unsafe: idempotency keys carry the run id itself.
 *
 * @example
 * ```ts
 * stableHash("run-42"); // always the same 8 hex digits
 * ```
 */
export function stableHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
