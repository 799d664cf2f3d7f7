/**
 * Idempotency-Key records (draft-ietf-httpapi-idempotency-key-header) of the messages route, per
 * user. The primary key (owner, key) makes claiming a key atomic across every replica: exactly
 * one request inserts the row, and every other one with that key reads it.
 */
import { and, eq, lt, sql } from "drizzle-orm";
import type { AgentDrizzle } from "./database.ts";
import { idempotencyKeys } from "./schema.ts";

/** A claimed key: which request claimed it, its run once started, its answer once done. */
export type KeyRecord = typeof idempotencyKeys.$inferSelect;

/** What {@link IdempotencyKeys.claim} found. */
export type Claim = { readonly claimed: true } | { readonly claimed: false; readonly record: KeyRecord };

/** Idempotency-Key records over the app's database. */
export class IdempotencyKeys {
  readonly #db: AgentDrizzle;

  constructor(db: AgentDrizzle) {
    this.#db = db;
  }

  /**
   * Claims `key` for `owner`'s request, or resolves with the record of the request that claimed it
   * first. An expired record is replaced, as if it were not there.
   */
  async claim(
    owner: string,
    key: string,
    request: { readonly sessionId: string; readonly fingerprint: string; readonly ttlMs: number },
  ): Promise<Claim> {
    const expiresAt = new Date(Date.now() + request.ttlMs);
    for (let attempt = 0; attempt < 2; attempt++) {
      const inserted = await this.#db
        .insert(idempotencyKeys)
        .values({ owner, key, sessionId: request.sessionId, fingerprint: request.fingerprint, expiresAt })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key });
      if (inserted.length > 0) return { claimed: true };
      const record = await this.find(owner, key);
      if (record && record.expiresAt.getTime() > Date.now()) return { claimed: false, record };
      await this.#db
        .delete(idempotencyKeys)
        .where(
          and(
            eq(idempotencyKeys.owner, owner),
            eq(idempotencyKeys.key, key),
            lt(idempotencyKeys.expiresAt, sql`now()`),
          ),
        );
    }
    const record = await this.find(owner, key);
    if (!record) throw new Error(`agent: idempotency key ${JSON.stringify(key)} vanished while being claimed`);
    return { claimed: false, record };
  }

  /** The record of `owner`'s key, if any. */
  async find(owner: string, key: string): Promise<KeyRecord | undefined> {
    const [record] = await this.#db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key)));
    return record;
  }

  /** Notes the run the claiming request started: a duplicate then follows that run. */
  async started(owner: string, key: string, runId: string): Promise<void> {
    await this.#db
      .update(idempotencyKeys)
      .set({ runId })
      .where(and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key)));
  }

  /** Keeps the first answer: a retry gets it even after the run's events expired. */
  async answered(owner: string, key: string, response: Record<string, unknown>): Promise<void> {
    await this.#db
      .update(idempotencyKeys)
      .set({ response })
      .where(and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key)));
  }

  /** Lets go of a key whose request failed before it started a run, so a retry may go ahead. */
  async release(owner: string, key: string): Promise<void> {
    await this.#db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key)));
  }
}
