/**
 * The worker's summarise-and-title job, enqueued after each saved reply. A session gets a title
 * from its first message; a long one gets a summary of its oldest exchanges, which the model then
 * sees instead of them. A failure (the model is down) is retried with the Queue's backoff, and
 * after the last attempt the message goes to the topic's dead letters with the error.
 */
import { ChatModel, defineJob, type ToolCall } from "@twelvefold/kernel";
import * as v from "valibot";
import type { StoredMessage } from "../db/sessions.ts";
import { AgentSettings, AgentStore } from "../tokens.ts";

const TITLE_CHARS = 60;

/** A title made of the first words of the session's first message: cheap, and the same on any model. */
export function titleOf(history: readonly StoredMessage[]): string | undefined {
  const first = history
    .find((m) => m.role === "user")
    ?.content.replace(/\s+/g, " ")
    .trim();
  if (!first) return undefined;
  if (first.length <= TITLE_CHARS) return first;
  const cut = first.slice(0, TITLE_CHARS);
  const space = cut.lastIndexOf(" ");
  return `${(space > TITLE_CHARS / 2 ? cut.slice(0, space) : cut).replace(/[\s,.;:!?-]+$/, "")}…`;
}

/**
 * Where a summary may end: the position of the last reply (an assistant message with no tool
 * calls) that leaves at least `keep` messages after it, so a tool call is never cut from its result.
 */
export function summaryCut(history: readonly StoredMessage[], keep: number): number | undefined {
  for (let i = history.length - 1 - keep; i >= 0; i--) {
    const message = history[i] as StoredMessage;
    if (message.role === "assistant" && !message.toolCalls?.length) return i;
  }
  return undefined;
}

function transcript(messages: readonly StoredMessage[]): string {
  const line = (m: StoredMessage) => {
    if (m.role === "tool") return `tool ${m.toolName ?? ""} answered: ${m.content}`;
    const calls = (m.toolCalls ?? []).map((c: ToolCall) => `${c.name}(${c.arguments})`).join(", ");
    return calls ? `${m.role} called ${calls}` : `${m.role}: ${m.content}`;
  };
  return messages.map(line).join("\n");
}

/** The summarise-and-title job (topic `chat.summarise`). */
export const summariseJob = defineJob({
  topic: "chat.summarise",
  payload: v.object({ session_id: v.pipe(v.string(), v.uuid()) }),
  maxAttempts: 3,
  requires: [AgentStore, AgentSettings, ChatModel],
  async run({ session_id }, { get, signal, logger }) {
    const { sessions } = get(AgentStore);
    const session = await sessions.byId(session_id);
    if (!session) return; // deleted since: nothing to do
    const history = await sessions.history(session_id);
    if (!session.title) {
      const title = titleOf(history);
      if (title) {
        await sessions.setTitle(session_id, title);
        logger.info("session titled", { session_id, title });
      }
    }
    const after = get(AgentSettings).AGENT_SUMMARY_AFTER_MESSAGES;
    if (history.length <= after) return;
    const cut = summaryCut(history, Math.floor(after / 2));
    const through = cut === undefined ? undefined : (history[cut] as StoredMessage).seq;
    if (cut === undefined || through === undefined || through <= (session.summaryThrough ?? 0)) return;
    const covered = history.slice(0, cut + 1).filter((m) => m.seq > (session.summaryThrough ?? 0));
    const before = session.summary ? `Summary so far: ${session.summary}\n\n` : "";
    const answer = await get(ChatModel).complete(
      {
        messages: [
          {
            role: "system",
            content:
              "Summarise the conversation you are given in at most five sentences, keeping names, numbers and decisions.",
          },
          { role: "user", content: `${before}${transcript(covered)}` },
        ],
        maxTokens: 300,
      },
      { signal },
    );
    await sessions.setSummary(session_id, answer.content.trim(), through);
    logger.info("session summarised", { session_id, through, model: answer.model });
  },
});
