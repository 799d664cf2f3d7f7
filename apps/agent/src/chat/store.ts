import { token } from "@twelvefold/kernel";

/** One chat session, owned by the subject that opened it. */
export interface ChatSession {
  readonly id: string;
  readonly owner: string;
  readonly createdAt: number;
}

/** One message of a session's history, in the order it was said. */
export interface StoredMessage {
  readonly id: string;
  readonly role: "user" | "assistant";
  readonly content: string;
  readonly createdAt: number;
}

/**
 * Where conversations live. Every web replica must see the same sessions, so the store is a
 * backing service behind this seam, never a replica's memory in production.
 */
export interface ChatStore {
  createSession(owner: string): Promise<ChatSession>;
  /** The session when `owner` owns it; `undefined` otherwise, so another user cannot learn it exists. */
  findSession(owner: string, id: string): Promise<ChatSession | undefined>;
  append(sessionId: string, messages: readonly Omit<StoredMessage, "id" | "createdAt">[]): Promise<StoredMessage[]>;
  history(sessionId: string): Promise<StoredMessage[]>;
}

/** The app's conversation store. */
export const ChatStore = token<ChatStore>("agent/ChatStore");

/** A single-process store for the walking skeleton and tests: it forgets everything on restart. */
export function memoryChatStore(): ChatStore {
  const sessions = new Map<string, ChatSession>();
  const messages = new Map<string, StoredMessage[]>();
  return {
    async createSession(owner) {
      const session = { id: crypto.randomUUID(), owner, createdAt: Date.now() };
      sessions.set(session.id, session);
      messages.set(session.id, []);
      return session;
    },
    async findSession(owner, id) {
      const session = sessions.get(id);
      return session?.owner === owner ? session : undefined;
    },
    async append(sessionId, added) {
      const list = messages.get(sessionId) ?? [];
      const stored = added.map((m) => ({ ...m, id: crypto.randomUUID(), createdAt: Date.now() }));
      list.push(...stored);
      messages.set(sessionId, list);
      return stored;
    },
    async history(sessionId) {
      return [...(messages.get(sessionId) ?? [])];
    },
  };
}
