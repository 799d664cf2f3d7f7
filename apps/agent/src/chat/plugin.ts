import { HttpApp, httpErrors, readJson, requestFacts } from "@twelvefold/http";
import { type ChatMessage, ChatModel, definePlugin, type Plugin } from "@twelvefold/kernel";
import * as v from "valibot";
import { agentConfig } from "../config.ts";
import { ChatStore, type StoredMessage } from "./store.ts";

const SessionId = v.pipe(v.string(), v.uuid());

/**
 * The chat API: open a session, send it a message and get the model's answer, read its history.
 * A session belongs to the subject that opened it; any other subject gets 404 for it.
 */
export function chat(): Plugin {
  return definePlugin({
    name: "chat",
    config: agentConfig,
    processes: ["web"],
    requires: [HttpApp, ChatModel, ChatStore],
    start({ config, get }) {
      const app = get(HttpApp);
      const model = get(ChatModel);
      const store = get(ChatStore);
      const Message = v.object({
        text: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(config.AGENT_MAX_MESSAGE_CHARS)),
      });
      const subjectOf = (c: Parameters<typeof requestFacts>[0]) => requestFacts(c).subject ?? config.AGENT_DEV_USER;
      const sessionOf = async (c: Parameters<typeof requestFacts>[0]) => {
        const id = c.req.param("id") ?? "";
        const session = v.is(SessionId, id) ? await store.findSession(subjectOf(c), id) : undefined;
        if (!session) {
          throw httpErrors.create(
            "TF_HTTP_NOT_FOUND",
            { reason: "no such session for this user" },
            { detail: "No such session" },
          );
        }
        return session;
      };

      app.post("/chat/sessions", async (c) => {
        const session = await store.createSession(subjectOf(c));
        return c.json({ session_id: session.id }, 201);
      });

      app.post("/chat/sessions/:id/messages", async (c) => {
        const session = await sessionOf(c);
        const { text } = await readJson(c, Message);
        const history = await store.history(session.id);
        const messages: ChatMessage[] = [...history.map(toChatMessage), { role: "user", content: text }];
        const answer = await model.complete({ messages }, { signal: requestFacts(c).signal });
        const [, reply] = await store.append(session.id, [
          { role: "user", content: text },
          { role: "assistant", content: answer.content },
        ]);
        return c.json({
          response: answer.content,
          message_id: reply?.id,
          model: answer.model,
          usage: { input_tokens: answer.usage.inputTokens, output_tokens: answer.usage.outputTokens },
        });
      });

      app.get("/chat/sessions/:id/history", async (c) => {
        const session = await sessionOf(c);
        const history = await store.history(session.id);
        return c.json({
          history: history.map(({ id, role, content, createdAt }) => ({
            id,
            role,
            content,
            created_at: new Date(createdAt).toISOString(),
          })),
        });
      });
    },
  });
}

function toChatMessage(message: StoredMessage): ChatMessage {
  return { role: message.role, content: message.content };
}
