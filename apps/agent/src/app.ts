import { http } from "@twelvefold/http";
import { type App, type AppOptions, createApp, definePlugin, type Plugin } from "@twelvefold/kernel";
import { llm } from "@twelvefold/llm";
import { metrics } from "@twelvefold/metrics";
import { otel } from "@twelvefold/otel";
import { rateLimit } from "@twelvefold/rate-limit";
import { chat } from "./chat/plugin.ts";
import { ChatStore, memoryChatStore } from "./chat/store.ts";

/** The conversation store; the walking skeleton keeps it in memory until the postgres plugin is wired. */
function chatStore(): Plugin {
  return definePlugin({
    name: "chat-store",
    provides: [ChatStore],
    start({ provide }) {
      provide(ChatStore, memoryChatStore());
    },
  });
}

/** The sample agent's plugins, in one list for every process type. */
export function agentPlugins(): Plugin[] {
  return [
    otel(),
    metrics(),
    http(),
    llm(),
    rateLimit({ policies: [{ name: "chat", match: "/chat/*", limit: 60 }] }),
    chatStore(),
    chat(),
  ];
}

/** The sample agent app. */
export function agentApp(options: Partial<AppOptions> = {}): App {
  return createApp({ name: "agent", version: "0.1.0", plugins: agentPlugins(), ...options });
}
