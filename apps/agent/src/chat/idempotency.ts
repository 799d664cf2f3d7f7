/**
 * Idempotency-Key on POST /chat/sessions/:id/messages (draft-ietf-httpapi-idempotency-key-header).
 * The key is claimed in PostgreSQL (one row per user and key, its primary key the arbiter), so
 * the rules hold across every web replica:
 *
 * - A retry after the first request finished gets the first answer (`Idempotent-Replayed: true`)
 *   and stores no second message: no second run is started.
 * - A concurrent duplicate, while the first is still running, follows the first request's run and
 *   gets the same answer once it ends (JSON), or the same events (SSE). It waits; it is told to
 *   retry (409, `Retry-After: 1`) only when the first request has claimed the key but not started
 *   its run within two seconds, or gave up before starting it.
 * - The same key with another body or another session is a 422.
 * - A run that fails on its last attempt releases the key: a retry then starts a new run.
 */
import type { HttpEnv } from "@twelvefold/http";
import { httpErrors } from "@twelvefold/http";
import type { Context } from "hono";
import type { AgentStore } from "../tokens.ts";

/** A run a request answers for, and what to do with its outcome. */
export interface Followed {
  readonly runId: string;
  readonly sessionId: string;
  /** True when this request repeats an earlier one with the same key. */
  readonly replayed: boolean;
  /** The first request's JSON answer, when the first got that far. */
  readonly kept?: Readonly<Record<string, unknown>>;
  /** Keeps the JSON answer for retries (the request that claimed the key). */
  answered?(body: Record<string, unknown>): Promise<void>;
  /** Lets the key go after a failed run, so a retry starts a new one. */
  failed?(): Promise<void>;
}

/** What a request's key (or its absence) means for it. */
export type KeyClaim =
  | {
      readonly kind: "fresh";
      /** Records the run this request started; resolves with what to answer for. */
      started(runId: string): Promise<Followed>;
      /** Lets the key go: the request failed before it started a run. */
      release(): Promise<void>;
    }
  | { readonly kind: "replay"; follow(): Promise<Followed> };

const KEY = /^[\x21-\x7e]{1,255}$/;
const POLL_MS = 50;

async function fingerprintOf(sessionId: string, text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${sessionId}\n${text}`));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The Idempotency-Key rules over the app's store; `waitMs` bounds a duplicate's wait for the first's run. */
export function idempotency(store: AgentStore, options: { readonly ttlMs: number; readonly waitMs?: number }) {
  const waitMs = options.waitMs ?? 2_000;
  return {
    async claim(
      c: Context<HttpEnv>,
      request: { readonly owner: string; readonly sessionId: string; readonly text: string },
    ): Promise<KeyClaim> {
      const { owner, sessionId } = request;
      const key = c.req.header("idempotency-key");
      if (key === undefined) {
        return {
          kind: "fresh",
          started: async (runId) => ({ runId, sessionId, replayed: false }),
          release: async () => {},
        };
      }
      if (!KEY.test(key)) {
        throw httpErrors.create(
          "TF_HTTP_BAD_REQUEST",
          { reason: "malformed Idempotency-Key" },
          { detail: "Idempotency-Key must be 1 to 255 visible ASCII characters" },
        );
      }
      const fingerprint = await fingerprintOf(sessionId, request.text);
      const claim = await store.keys.claim(owner, key, { sessionId, fingerprint, ttlMs: options.ttlMs });
      if (claim.claimed) {
        return {
          kind: "fresh",
          async started(runId) {
            await store.keys.started(owner, key, runId);
            return {
              runId,
              sessionId,
              replayed: false,
              answered: (body) => store.keys.answered(owner, key, body),
              failed: () => store.keys.release(owner, key),
            };
          },
          release: () => store.keys.release(owner, key),
        };
      }
      const { record } = claim;
      if (record.fingerprint !== fingerprint) {
        throw httpErrors.create(
          "TF_HTTP_VALIDATION",
          { count: 1 },
          {
            detail: "This Idempotency-Key was used for another request: use a new key for a new message",
            extensions: { invalid_params: [{ name: "Idempotency-Key", reason: "used for another request" }] },
          },
        );
      }
      return {
        kind: "replay",
        async follow() {
          let current: typeof record | undefined = record;
          const deadline = Date.now() + waitMs;
          while (current?.runId == null && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
            current = await store.keys.find(owner, key);
          }
          if (current?.runId == null) {
            throw httpErrors.create(
              "TF_HTTP_CONFLICT",
              { reason: `Idempotency-Key "${key}" is still being processed` },
              {
                detail: "A request with this Idempotency-Key is in progress: retry shortly",
                headers: { "retry-after": "1" },
              },
            );
          }
          return { runId: current.runId, sessionId, replayed: true, kept: current.response ?? undefined };
        },
      };
    },
  };
}
