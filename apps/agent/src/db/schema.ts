/**
 * The sample agent's tables. Everything a conversation is lives here, in PostgreSQL (PGlite when
 * developing), never in a process's memory, so that every web replica serves every request and every worker
 * runs every run. Migrations are drizzle-kit's, committed in `apps/agent/migrations`; after
 * changing this file, from `apps/agent`: `bunx drizzle-kit generate --name <what-changed>`.
 */
import type { ToolCall } from "@twelvefold/kernel";
import {
  bigint,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** A chat session, owned by the subject (a JWT `sub`) that opened it. */
export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    owner: text("owner").notNull(),
    /** Set by the worker's summarise job after the first reply. */
    title: text("title"),
    /** What the oldest messages said, once the session is long: the model sees it instead of them. */
    summary: text("summary"),
    /** The `seq` of the last message the summary covers. */
    summaryThrough: bigint("summary_through", { mode: "number" }),
    messageCount: integer("message_count").notNull().default(0),
    createdAt: at("created_at").notNull().defaultNow(),
    /** The last message's time: the nightly purge deletes sessions idle past AGENT_RETENTION_DAYS. */
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [
    // GET /chat/sessions: the owner's sessions, newest first, by keyset.
    index("sessions_owner_created_idx").on(t.owner, t.createdAt.desc(), t.id.desc()),
    index("sessions_updated_idx").on(t.updatedAt),
  ],
);

/** One message of a session, in the order it was said (`seq`), tool calls and results included. */
export const messages = pgTable(
  "messages",
  {
    seq: bigint("seq", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    id: uuid("id").notNull().unique().defaultRandom(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    /** The agent run that said it (both the user's message and the run's answer carry it). */
    runId: uuid("run_id"),
    role: text("role", { enum: ["user", "assistant", "tool"] }).notNull(),
    content: text("content").notNull(),
    /** The calls an assistant turn asked for. */
    toolCalls: jsonb("tool_calls").$type<ToolCall[]>(),
    /** For a tool result: the call it answers, and the tool's name. */
    toolCallId: text("tool_call_id"),
    toolName: text("tool_name"),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [index("messages_session_seq_idx").on(t.sessionId, t.seq), index("messages_run_idx").on(t.runId)],
);

/**
 * One agent run: the web process records it when it starts the run, the worker when it saves the
 * exchange (whichever comes first inserts it). It keeps the usage and the cost, so it outlives a
 * deleted session (`session_id` is then null) until the roll-up has counted it.
 */
export const runs = pgTable(
  "runs",
  {
    id: uuid("id").primaryKey(),
    sessionId: uuid("session_id").references(() => sessions.id, { onDelete: "set null" }),
    owner: text("owner").notNull(),
    status: text("status", { enum: ["running", "done"] })
      .notNull()
      .default("running"),
    /** The model of the last turn (a fallback may have answered it). */
    model: text("model"),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    /** US dollars by LLM_PRICES; null when the table does not price the model. */
    costUsd: numeric("cost_usd", { precision: 14, scale: 8, mode: "number" }),
    replyMessageId: uuid("reply_message_id"),
    startedAt: at("started_at").notNull().defaultNow(),
    finishedAt: at("finished_at"),
  },
  (t) => [index("runs_session_idx").on(t.sessionId), index("runs_finished_idx").on(t.finishedAt, t.owner)],
);

/** The per-user memory of the remember and recall tools. */
export const memories = pgTable(
  "memories",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    owner: text("owner").notNull(),
    fact: text("fact").notNull(),
    /** The tool call's idempotency key: a retried run does not remember a fact twice. */
    idempotencyKey: text("idempotency_key").unique(),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [index("memories_owner_idx").on(t.owner, t.createdAt)],
);

/**
 * Idempotency-Key records of POST /chat/sessions/:id/messages, per user: the first request claims
 * the key (the primary key makes that atomic across replicas) and records its run, then its answer.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    owner: text("owner").notNull(),
    key: text("key").notNull(),
    /** SHA-256 of the session and the body: the same key with another request is refused. */
    fingerprint: text("fingerprint").notNull(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    runId: uuid("run_id"),
    /** The first request's JSON answer, once it has one. */
    response: jsonb("response").$type<Record<string, unknown>>(),
    createdAt: at("created_at").notNull().defaultNow(),
    expiresAt: at("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.owner, t.key] }), index("idempotency_keys_expires_idx").on(t.expiresAt)],
);

/** Usage and cost per user per hour, rolled up by the scheduler from `runs`. */
export const usageRollups = pgTable(
  "usage_rollups",
  {
    owner: text("owner").notNull(),
    hour: at("hour").notNull(),
    runs: integer("runs").notNull(),
    inputTokens: bigint("input_tokens", { mode: "number" }).notNull(),
    outputTokens: bigint("output_tokens", { mode: "number" }).notNull(),
    costUsd: numeric("cost_usd", { precision: 16, scale: 8, mode: "number" }).notNull(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.owner, t.hour] })],
);
