/**
 * Signed approval requests. A run that reaches a tool needing approval pauses with a request
 * signed with HMAC-SHA-256 (WebCrypto) under a key derived from SECRET_KEY; the decision comes
 * back with the request, and only a request this app signed, unchanged and unexpired, is taken.
 * The key is derived for this one purpose, so a signature here can never pass as a JWT's.
 */
import type { ToolCall } from "@twelvefold/kernel";

/** What a signed request says: which call of which run, with which arguments, until when. */
export interface ApprovalRequest {
  readonly run_id: string;
  readonly step: number;
  readonly call_id: string;
  readonly name: string;
  readonly arguments: string;
  /** Epoch ms after which the request is refused. */
  readonly expires_at: number;
}

/** Signs and checks approval requests. */
export interface ApprovalSigner {
  sign(request: ApprovalRequest): Promise<string>;
  /** The request inside `token` when this signer signed it and nothing changed, else `undefined`. */
  verify(token: string): Promise<ApprovalRequest | undefined>;
}

const encoder = new TextEncoder();
const PURPOSE = "twelvefold/agent/approval/v1";

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

async function hmacKey(secret: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

function isRequest(value: unknown): value is ApprovalRequest {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.run_id === "string" &&
    typeof r.step === "number" &&
    typeof r.call_id === "string" &&
    typeof r.name === "string" &&
    typeof r.arguments === "string" &&
    typeof r.expires_at === "number"
  );
}

/**
 * The signer for SECRET_KEY: HMAC-SHA-256 over the request's JSON, under
 * HMAC(SECRET_KEY, "twelvefold/agent/approval/v1"). Tokens read `<payload>.<signature>`, both
 * base64url; verification is WebCrypto's constant-time `verify`.
 *
 * @example
 * ```ts
 * const signer = await approvalSigner("a-secret-of-at-least-32-characters!");
 * const token = await signer.sign({ run_id, step: 0, call_id, name: "send_mail", arguments: "{}", expires_at });
 * (await signer.verify(token))?.call_id === call_id; // true; any changed byte gives undefined
 * ```
 */
export async function approvalSigner(secretKey: string): Promise<ApprovalSigner> {
  const root = await hmacKey(encoder.encode(secretKey));
  const derived = new Uint8Array(await crypto.subtle.sign("HMAC", root, encoder.encode(PURPOSE)));
  const key = await hmacKey(derived);
  return {
    async sign(request) {
      const payload = toBase64Url(encoder.encode(JSON.stringify(request)));
      const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(payload)));
      return `${payload}.${toBase64Url(signature)}`;
    },
    async verify(token) {
      if (typeof token !== "string" || token.length > 64 * 1024) return undefined;
      const [payload, signature, extra] = token.split(".");
      if (payload === undefined || signature === undefined || extra !== undefined) return undefined;
      const bytes = fromBase64Url(signature);
      if (bytes === undefined) return undefined;
      if (!(await crypto.subtle.verify("HMAC", key, bytes, encoder.encode(payload)))) return undefined;
      const json = fromBase64Url(payload);
      try {
        const request = JSON.parse(new TextDecoder().decode(json)) as unknown;
        return isRequest(request) ? request : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** The request for `call` in step `step` of run `runId`, valid for `ttlMs`. */
export function approvalRequest(runId: string, step: number, call: ToolCall, expiresAt: number): ApprovalRequest {
  return {
    run_id: runId,
    step,
    call_id: call.id,
    name: call.name,
    arguments: call.arguments,
    expires_at: expiresAt,
  };
}
