/**
 * Sessions, their messages and their runs, in PostgreSQL. Every method is one statement or one
 * transaction, so two web replicas (or a web replica and a worker) may call them at once.
 */
import type { Exchange } from "@twelvefold/agent";
import type { ChatMessage, ToolCall } from "@twelvefold/kernel";
import { and, asc, desc, eq, gt, sql } from "drizzle-orm";
import type { AgentDrizzle } from "./database.ts";
import { messages, runs, sessions } from "./schema.ts";

/** A session as the API shows it. */
export type Session = typeof sessions.$inferSelect;

/** One entry of a session's history. */
export type StoredMessage = typeof messages.$inferSelect;

/** A run as the app records it. */
export type RunRecord = typeof runs.$inferSelect;

/** A page of sessions, newest first, and the cursor of the next one. */
export interface SessionPage {
  readonly sessions: Session[];
  readonly next: string | undefined;
}

/** What a finished run cost, and the model it is priced by. */
export interface Pricing {
  readonly model: string | undefined;
  readonly costUsd: number | undefined;
}

const encodeCursor = (session: Session) =>
  btoa(JSON.stringify([session.createdAt.toISOString(), session.id])).replace(/=+$/, "");

/** The keyset a cursor names, or `undefined` for a cursor this app did not make. */
export function decodeCursor(cursor: string): { readonly createdAt: Date; readonly id: string } | undefined {
  try {
    const [createdAt, id] = JSON.parse(atob(cursor)) as [unknown, unknown];
    const date = new Date(String(createdAt));
    if (typeof id !== "string" || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(date.getTime())) return undefined;
    return { createdAt: date, id };
  } catch {
    return undefined;
  }
}

/** The messages of a session as the model takes them back. */
export function toChatMessages(rows: readonly StoredMessage[]): ChatMessage[] {
  return rows.map((row): ChatMessage => {
    if (row.role === "tool") return { role: "tool", content: row.content, toolCallId: row.toolCallId ?? "" };
    if (row.role === "assistant") {
      return row.toolCalls?.length
        ? { role: "assistant", content: row.content, toolCalls: row.toolCalls }
        : { role: "assistant", content: row.content };
    }
    return { role: "user", content: row.content };
  });
}

/** The rows an exchange adds: the user's input, each turn with its tool calls and results, the answer last. */
function exchangeRows(sessionId: string, exchange: Exchange): Array<typeof messages.$inferInsert> {
  const calls = new Map<string, ToolCall>();
  const rows: Array<typeof messages.$inferInsert> = [];
  const now = Date.now();
  const base = { sessionId, runId: exchange.runId };
  for (const message of [...exchange.input, ...exchange.messages]) {
    const createdAt = new Date(now);
    if (message.role === "system") continue;
    if (message.role === "tool") {
      const name = calls.get(message.toolCallId)?.name;
      rows.push({
        ...base,
        role: "tool",
        content: message.content,
        toolCallId: message.toolCallId,
        toolName: name,
        createdAt,
      });
    } else if (message.role === "assistant") {
      for (const call of message.toolCalls ?? []) calls.set(call.id, call);
      const toolCalls = message.toolCalls?.length ? [...message.toolCalls] : undefined;
      rows.push({ ...base, role: "assistant", content: message.content, toolCalls, createdAt });
    } else rows.push({ ...base, role: "user", content: message.content, createdAt });
  }
  // A run a limit ended may stop after a tool result: the answer the user saw comes last all the same.
  const last = rows.at(-1);
  if (last?.role !== "assistant" || last.toolCalls !== undefined) {
    rows.push({ ...base, role: "assistant", content: exchange.reply, createdAt: new Date(now) });
  }
  return rows;
}

/** Sessions, messages and runs over the app's database. */
export class Sessions {
  readonly #db: AgentDrizzle;

  constructor(db: AgentDrizzle) {
    this.#db = db;
  }

  /**
   * Opens a session for `owner`, or resolves `undefined` when they already have `max`. The count
   * and the insert run under a per-owner advisory lock, so replicas racing cannot pass the limit.
   */
  create(owner: string, options: { readonly max: number }): Promise<Session | undefined> {
    return this.#db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`sessions:${owner}`}, 0))`);
      const [{ count } = { count: 0 }] = await tx
        .select({ count: sql<number>`count(*)::int` })
        .from(sessions)
        .where(eq(sessions.owner, owner));
      if (count >= options.max) return undefined;
      const now = new Date();
      const [session] = await tx.insert(sessions).values({ owner, createdAt: now, updatedAt: now }).returning();
      return session;
    });
  }

  /** The session when `owner` owns it; `undefined` otherwise, so another user cannot learn that it exists. */
  async find(owner: string, id: string): Promise<Session | undefined> {
    const [session] = await this.#db
      .select()
      .from(sessions)
      .where(and(eq(sessions.id, id), eq(sessions.owner, owner)));
    return session;
  }

  /** The owner's sessions, newest first, `limit` at a time; `cursor` is the `next` of the page before. */
  async list(owner: string, options: { readonly limit: number; readonly cursor?: string }): Promise<SessionPage> {
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const keyset =
      after &&
      sql`(${sessions.createdAt}, ${sessions.id}) < (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`;
    const rows = await this.#db
      .select()
      .from(sessions)
      .where(keyset ? and(eq(sessions.owner, owner), keyset) : eq(sessions.owner, owner))
      .orderBy(desc(sessions.createdAt), desc(sessions.id))
      .limit(options.limit + 1);
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return { sessions: page, next: rows.length > options.limit && last ? encodeCursor(last) : undefined };
  }

  /** Deletes the owner's session with its messages; false when they have no such session. */
  async delete(owner: string, id: string): Promise<boolean> {
    const removed = await this.#db
      .delete(sessions)
      .where(and(eq(sessions.id, id), eq(sessions.owner, owner)))
      .returning({ id: sessions.id });
    return removed.length > 0;
  }

  /** The session's messages in the order they were said, tool calls and results included. */
  history(sessionId: string): Promise<StoredMessage[]> {
    return this.#db.select().from(messages).where(eq(messages.sessionId, sessionId)).orderBy(asc(messages.seq));
  }

  /**
   * What the model sees of the session: its summary (once it has one) as a system message, then
   * the messages after the ones the summary covers.
   */
  async context(sessionId: string): Promise<ChatMessage[]> {
    const [session] = await this.#db
      .select({ summary: sessions.summary, through: sessions.summaryThrough })
      .from(sessions)
      .where(eq(sessions.id, sessionId));
    if (!session) return [];
    const through = session.summary ? (session.through ?? 0) : 0;
    const rows = await this.#db
      .select()
      .from(messages)
      .where(and(eq(messages.sessionId, sessionId), gt(messages.seq, through)))
      .orderBy(asc(messages.seq));
    const summary: ChatMessage[] = session.summary
      ? [{ role: "system", content: `Summary of the conversation so far: ${session.summary}` }]
      : [];
    return [...summary, ...toChatMessages(rows)];
  }

  /** Records a run the web process started; a worker that saved it first already did. */
  async startRun(run: { readonly id: string; readonly sessionId: string; readonly owner: string }): Promise<void> {
    await this.#db.insert(runs).values(run).onConflictDoNothing({ target: runs.id });
  }

  /** The run when it belongs to the session. */
  async findRun(sessionId: string, runId: string): Promise<RunRecord | undefined> {
    const [run] = await this.#db
      .select()
      .from(runs)
      .where(and(eq(runs.id, runId), eq(runs.sessionId, sessionId)));
    return run;
  }

  /**
   * Saves a finished run's exchange, once: the run's row is the guard (a second save of the same
   * run, after a worker died between saving and logging `done`, changes nothing and resolves with
   * the same reply id). A session deleted while its run ran gets nothing.
   */
  save(sessionId: string, exchange: Exchange, pricing: Pricing): Promise<{ messageId?: string }> {
    return this.#db.transaction(async (tx) => {
      // Locks the session row: saves to one session are serialised, so their messages never interleave.
      const [session] = await tx
        .select({ owner: sessions.owner })
        .from(sessions)
        .where(eq(sessions.id, sessionId))
        .for("update");
      if (!session) return {};
      const usage = { inputTokens: exchange.usage.input_tokens, outputTokens: exchange.usage.output_tokens };
      const finished = { status: "done" as const, model: pricing.model, costUsd: pricing.costUsd, ...usage };
      const [claimed] = await tx
        .insert(runs)
        .values({ id: exchange.runId, sessionId, owner: session.owner, ...finished, finishedAt: new Date() })
        .onConflictDoUpdate({
          target: runs.id,
          set: { ...finished, finishedAt: new Date() },
          setWhere: eq(runs.status, "running"),
        })
        .returning({ id: runs.id });
      if (!claimed) {
        const [done] = await tx.select({ reply: runs.replyMessageId }).from(runs).where(eq(runs.id, exchange.runId));
        return { messageId: done?.reply ?? undefined };
      }
      const rows = exchangeRows(sessionId, exchange);
      const inserted = await tx.insert(messages).values(rows).returning({ id: messages.id, seq: messages.seq });
      const reply = inserted.reduce((a, b) => (b.seq > a.seq ? b : a));
      await tx.update(runs).set({ replyMessageId: reply.id }).where(eq(runs.id, exchange.runId));
      await tx
        .update(sessions)
        .set({ messageCount: sql`${sessions.messageCount} + ${rows.length}`, updatedAt: new Date() })
        .where(eq(sessions.id, sessionId));
      return { messageId: reply.id };
    });
  }

  /** Sets the session's title. */
  async setTitle(sessionId: string, title: string): Promise<void> {
    await this.#db.update(sessions).set({ title }).where(eq(sessions.id, sessionId));
  }

  /** Sets the session's summary and the last message it covers. */
  async setSummary(sessionId: string, summary: string, through: number): Promise<void> {
    await this.#db.update(sessions).set({ summary, summaryThrough: through }).where(eq(sessions.id, sessionId));
  }

  /** Makes a session with a given id and title unless it exists (the seed); true when it made it. */
  async seed(session: { readonly id: string; readonly owner: string; readonly title: string }): Promise<boolean> {
    const made = await this.#db
      .insert(sessions)
      .values(session)
      .onConflictDoNothing({ target: sessions.id })
      .returning({ id: sessions.id });
    return made.length > 0;
  }

  /**
   * The answer a finished run gave, as the messages route shows it, from the database alone (once
   * the run's events have expired): `undefined` when the run is not done.
   */
  async answerOf(sessionId: string, runId: string): Promise<Record<string, unknown> | undefined> {
    const run = await this.findRun(sessionId, runId);
    if (run?.status !== "done" || !run.replyMessageId) return undefined;
    const [reply] = await this.#db.select().from(messages).where(eq(messages.id, run.replyMessageId));
    return {
      session_id: sessionId,
      run_id: runId,
      status: "done",
      response: reply?.content ?? "",
      message_id: run.replyMessageId,
      usage: { input_tokens: run.inputTokens, output_tokens: run.outputTokens, cost_usd: run.costUsd },
    };
  }

  /** The session by id, whoever owns it (for the worker's jobs). */
  async byId(sessionId: string): Promise<Session | undefined> {
    const [session] = await this.#db.select().from(sessions).where(eq(sessions.id, sessionId));
    return session;
  }
}
