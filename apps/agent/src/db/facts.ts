/** The per-user memory the remember and recall tools keep, in PostgreSQL. */
import { and, desc, eq, ilike, or } from "drizzle-orm";
import type { AgentDrizzle } from "./database.ts";
import { memories } from "./schema.ts";

/** Words shorter than this are not searched for (`the`, `is`). */
const MIN_WORD = 3;

/** Facts a user asked the agent to remember. */
export class Facts {
  readonly #db: AgentDrizzle;

  constructor(db: AgentDrizzle) {
    this.#db = db;
  }

  /**
   * Keeps a fact for `owner`. `idempotencyKey` (the tool call's) makes it once per call: a run
   * retried or resumed after a crash between the insert and its record does not keep it twice.
   */
  async remember(owner: string, fact: string, idempotencyKey?: string): Promise<void> {
    await this.#db
      .insert(memories)
      .values({ owner, fact, idempotencyKey })
      .onConflictDoNothing({ target: memories.idempotencyKey });
  }

  /** The owner's facts that share a word with `query` (all of them for an empty one), newest first. */
  async recall(owner: string, query: string, limit = 20): Promise<string[]> {
    const words = query
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((word) => word.length >= MIN_WORD);
    const literal = (word: string) => word.replace(/[\\%_]/g, (c) => `\\${c}`);
    const matches =
      words.length > 0 ? or(...words.map((word) => ilike(memories.fact, `%${literal(word)}%`))) : undefined;
    const rows = await this.#db
      .select({ fact: memories.fact })
      .from(memories)
      .where(matches ? and(eq(memories.owner, owner), matches) : eq(memories.owner, owner))
      .orderBy(desc(memories.createdAt))
      .limit(limit);
    return rows.map((row) => row.fact);
  }
}
