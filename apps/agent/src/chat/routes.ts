/**
 * The chat API: sessions, messages (a message is an agent run: JSON once it is done, or its
 * events as a resumable SSE stream), history with tool calls, and the run's stream and cancel.
 * Everything is read from and written to the database and the run's event log, never kept in
 * this process, so any web replica serves any request.
 */
import { AgentError, AgentRuns, problemOf, type RunResult } from "@twelvefold/agent";
import {
  eventStream,
  HttpApp,
  HttpAuth,
  type HttpEnv,
  honoMiddleware,
  httpErrors,
  readJson,
  requestFacts,
} from "@twelvefold/http";
import { definePlugin, type Plugin } from "@twelvefold/kernel";
import { RateLimiter } from "@twelvefold/rate-limit";
import type { Context } from "hono";
import * as v from "valibot";
import type { Session, StoredMessage } from "../db/sessions.ts";
import { AgentSettings, AgentStore } from "../tokens.ts";
import { authenticate, subjectOf } from "./auth.ts";
import { type Followed, idempotency } from "./idempotency.ts";

const Uuid = v.pipe(v.string(), v.uuid());
const ListQuery = v.object({
  limit: v.optional(v.pipe(v.string(), v.toNumber(), v.integer(), v.minValue(1), v.maxValue(100)), "20"),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(200))),
});

const notFound = (what: string) =>
  httpErrors.create("TF_HTTP_NOT_FOUND", { reason: `no such ${what} for this user` }, { detail: `No such ${what}` });

/** A session as the API shows it. */
function sessionJson(session: Session) {
  return {
    session_id: session.id,
    title: session.title,
    created_at: session.createdAt.toISOString(),
    updated_at: session.updatedAt.toISOString(),
    message_count: session.messageCount,
  };
}

/** A message as the history shows it: tool calls on the assistant turn that made them, results as `tool`. */
function messageJson(message: StoredMessage) {
  return {
    id: message.id,
    role: message.role,
    content: message.content,
    run_id: message.runId,
    created_at: message.createdAt.toISOString(),
    ...(message.toolCalls?.length ? { tool_calls: message.toolCalls } : {}),
    ...(message.role === "tool" ? { tool_call_id: message.toolCallId, tool_name: message.toolName } : {}),
  };
}

/** True when the client asked for the run's events rather than its result. */
export function wantsStream(c: Context<HttpEnv>): boolean {
  return c.req.header("accept")?.includes("text/event-stream") ?? false;
}

/**
 * The chat routes plugin (web). Every `/chat/*` route authenticates (a Bearer JWT; in development
 * and testing a request without one acts as AGENT_DEV_USER), and a session is found only for its
 * owner: another subject gets the same 404 as for a session that does not exist.
 */
export function chatRoutes(): Plugin {
  return definePlugin({
    name: "chat",
    processes: ["web"],
    requires: [HttpApp, HttpAuth, AgentRuns, AgentStore, AgentSettings, RateLimiter],
    start({ get, profile }) {
      const app = get(HttpApp);
      const runs = get(AgentRuns);
      const store = get(AgentStore);
      const config = get(AgentSettings);
      const devUser = profile === "development" || profile === "testing" ? config.AGENT_DEV_USER : undefined;
      const Message = v.object({
        text: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(config.AGENT_MAX_MESSAGE_CHARS)),
      });
      const keys = idempotency(store, { ttlMs: config.AGENT_IDEMPOTENCY_TTL_HOURS * 3_600_000 });
      const perUser = honoMiddleware(
        get(RateLimiter).middleware({ name: "messages", limit: config.AGENT_MESSAGES_PER_MINUTE, key: "subject" }),
      );

      const sessionOf = async (c: Context<HttpEnv>): Promise<Session> => {
        const id = c.req.param("id") ?? "";
        const session = v.is(Uuid, id) ? await store.sessions.find(subjectOf(c), id) : undefined;
        if (!session) throw notFound("session");
        return session;
      };

      /**
       * The run's events as the http plugin's event stream, after `after` (the client's
       * Last-Event-ID): kept alive, past the request timeout, ended with `retry:` at drain.
       * An unknown run or a bad id is refused before the headers go out.
       */
      const streamOf = async (c: Context<HttpEnv>, runId: string, after: string | undefined) => {
        await runs.check(runId, after);
        return eventStream(c, (stream) => runs.pipe(runId, stream, { after }), {
          retryMs: runs.retryMs,
          headers: { "x-run-id": runId },
        });
      };

      /** The JSON answer of a run that ended, with what it cost. */
      const resultJson = async (result: RunResult, sessionId: string) => {
        const run = await store.sessions.findRun(sessionId, result.runId);
        return {
          session_id: sessionId,
          run_id: result.runId,
          status: result.status,
          response: result.text,
          message_id: result.messageId ?? null,
          usage: { ...result.usage, cost_usd: run?.costUsd ?? null },
        };
      };

      /** Answers for a run: its SSE stream, or its JSON result once it ends. */
      const answer = async (c: Context<HttpEnv>, followed: Followed): Promise<Response> => {
        const { runId, sessionId } = followed;
        const replayed: Record<string, string> = followed.replayed ? { "idempotent-replayed": "true" } : {};
        if (followed.kept && !wantsStream(c)) return c.json(followed.kept, 200, { "x-run-id": runId, ...replayed });
        try {
          if (wantsStream(c)) {
            return await streamOf(c, runId, c.req.header("last-event-id") || undefined);
          }
          const result = await runs.result(runId, { signal: requestFacts(c).signal });
          if (result.status === "failed") {
            await followed.failed?.();
            throw httpErrors.create(
              "TF_HTTP_UNAVAILABLE",
              { reason: `run "${runId}" failed: ${result.reason ?? "unknown"}` },
              { detail: "The model could not answer: try again", headers: { "retry-after": "1", "x-run-id": runId } },
            );
          }
          const body = await resultJson(result, sessionId);
          await followed.answered?.(body);
          return c.json(body, 200, { "x-run-id": runId, ...replayed });
        } catch (error) {
          if (!(error instanceof AgentError)) throw error;
          // The run's events expired: a replayed request gets the answer the database kept.
          if (error.code === "TF_AGENT_NOT_FOUND" && followed.replayed) {
            const kept = await store.sessions.answerOf(sessionId, runId);
            if (kept) return c.json(kept, 200, { "x-run-id": runId, "idempotent-replayed": "true" });
          }
          return problemOf(error);
        }
      };

      app.use("/chat/*", authenticate(get(HttpAuth), { devUser }));

      app.post("/chat/sessions", async (c) => {
        const session = await store.sessions.create(subjectOf(c), { max: config.AGENT_MAX_SESSIONS_PER_USER });
        if (!session) {
          throw httpErrors.create(
            "TF_HTTP_CONFLICT",
            { reason: `the user has ${config.AGENT_MAX_SESSIONS_PER_USER} sessions` },
            {
              detail: `You have ${config.AGENT_MAX_SESSIONS_PER_USER} sessions, the most you may keep: delete one first`,
            },
          );
        }
        return c.json(sessionJson(session), 201);
      });

      app.get("/chat/sessions", async (c) => {
        const query = v.safeParse(ListQuery, c.req.query());
        if (!query.success) {
          throw httpErrors.create(
            "TF_HTTP_BAD_REQUEST",
            { reason: "bad query: limit 1 to 100, cursor from next_cursor" },
            { detail: "limit must be 1 to 100, and cursor a next_cursor this API gave" },
          );
        }
        const page = await store.sessions.list(subjectOf(c), {
          limit: query.output.limit,
          cursor: query.output.cursor,
        });
        return c.json({ sessions: page.sessions.map(sessionJson), next_cursor: page.next ?? null });
      });

      app.get("/chat/sessions/:id", async (c) => c.json(sessionJson(await sessionOf(c))));

      app.delete("/chat/sessions/:id", async (c) => {
        if (!v.is(Uuid, c.req.param("id")) || !(await store.sessions.delete(subjectOf(c), c.req.param("id")))) {
          throw notFound("session");
        }
        return c.body(null, 204);
      });

      app.get("/chat/sessions/:id/history", async (c) => {
        const session = await sessionOf(c);
        return c.json({ session_id: session.id, history: (await store.sessions.history(session.id)).map(messageJson) });
      });

      app.post("/chat/sessions/:id/messages", perUser, async (c) => {
        const owner = subjectOf(c);
        const session = await sessionOf(c);
        const { text } = await readJson(c, Message);
        const claim = await keys.claim(c, { owner, sessionId: session.id, text });
        if (claim.kind === "replay") return answer(c, await claim.follow());
        let runId: string;
        try {
          ({ runId } = await runs.start({ user: owner, text, conversation: session.id }));
        } catch (error) {
          await claim.release();
          if (error instanceof AgentError) return problemOf(error);
          throw error;
        }
        await store.sessions.startRun({ id: runId, sessionId: session.id, owner });
        return answer(c, await claim.started(runId));
      });

      app.get("/chat/sessions/:id/runs/:run/events", async (c) => {
        const session = await sessionOf(c);
        const run = v.is(Uuid, c.req.param("run"))
          ? await store.sessions.findRun(session.id, c.req.param("run"))
          : undefined;
        if (!run) throw notFound("run");
        const lastEventId = c.req.header("last-event-id") ?? c.req.query("after");
        try {
          return await streamOf(c, run.id, lastEventId || undefined);
        } catch (error) {
          if (error instanceof AgentError) return problemOf(error);
          throw error;
        }
      });

      app.delete("/chat/sessions/:id/runs/:run", async (c) => {
        const session = await sessionOf(c);
        const run = v.is(Uuid, c.req.param("run"))
          ? await store.sessions.findRun(session.id, c.req.param("run"))
          : undefined;
        if (!run) throw notFound("run");
        try {
          await runs.cancel(run.id, { reason: "cancelled by the user" });
        } catch (error) {
          if (error instanceof AgentError) return problemOf(error);
          throw error;
        }
        return c.json({ run_id: run.id, status: "cancelling" }, 202);
      });
    },
  });
}
