/** The scheduler's work on the database: the retention purge and the usage roll-up. */
import { and, count, isNotNull, lt, sql, sum } from "drizzle-orm";
import type { AgentDrizzle } from "./database.ts";
import { idempotencyKeys, runs, sessions, usageRollups } from "./schema.ts";

/** What a purge removed. */
export interface PurgeResult {
  readonly sessions: number;
  readonly runs: number;
  readonly keys: number;
}

/**
 * Deletes the sessions idle since before `before` (their messages and keys go with them), the
 * runs that finished before it (the hourly roll-ups keep their totals), and expired keys.
 */
export async function purge(db: AgentDrizzle, options: { readonly before: Date }): Promise<PurgeResult> {
  return db.transaction(async (tx) => {
    const gone = await tx.delete(sessions).where(lt(sessions.updatedAt, options.before)).returning({ id: sessions.id });
    const oldRuns = await tx
      .delete(runs)
      .where(and(isNotNull(runs.finishedAt), lt(runs.finishedAt, options.before)))
      .returning({ id: runs.id });
    const keys = await tx
      .delete(idempotencyKeys)
      .where(lt(idempotencyKeys.expiresAt, sql`now()`))
      .returning({ key: idempotencyKeys.key });
    return { sessions: gone.length, runs: oldRuns.length, keys: keys.length };
  });
}

/**
 * Rolls up the runs that finished since `since` into usage and cost per user per hour. Each hour
 * it touches is recomputed whole from `runs`, so running it twice, or on two replicas, gives the
 * same rows. Resolves with the number of (user, hour) rows written.
 */
export async function rollUp(db: AgentDrizzle, options: { readonly since: Date }): Promise<number> {
  const hour = sql<Date>`date_trunc('hour', ${runs.finishedAt})`;
  const from = sql`date_trunc('hour', ${options.since.toISOString()}::timestamptz)`;
  const written = await db
    .insert(usageRollups)
    .select(
      db
        .select({
          owner: runs.owner,
          hour: sql<Date>`${hour}`.as("hour"),
          runs: sql<number>`${count()}::int`.as("runs"),
          inputTokens: sql<number>`coalesce(${sum(runs.inputTokens)}, 0)::bigint`.as("input_tokens"),
          outputTokens: sql<number>`coalesce(${sum(runs.outputTokens)}, 0)::bigint`.as("output_tokens"),
          costUsd: sql<number>`coalesce(${sum(runs.costUsd)}, 0)`.as("cost_usd"),
          updatedAt: sql<Date>`now()`.as("updated_at"),
        })
        .from(runs)
        .where(and(isNotNull(runs.finishedAt), sql`${runs.finishedAt} >= ${from}`))
        .groupBy(runs.owner, hour),
    )
    .onConflictDoUpdate({
      target: [usageRollups.owner, usageRollups.hour],
      set: {
        runs: sql`excluded.runs`,
        inputTokens: sql`excluded.input_tokens`,
        outputTokens: sql`excluded.output_tokens`,
        costUsd: sql`excluded.cost_usd`,
        updatedAt: sql`now()`,
      },
    })
    .returning({ owner: usageRollups.owner });
  return written.length;
}
