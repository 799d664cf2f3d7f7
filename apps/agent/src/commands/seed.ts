import type { Exchange } from "@twelvefold/agent";
import { defineCommand } from "@twelvefold/kernel";
import * as v from "valibot";
import { AgentStore } from "../tokens.ts";

/** The demo sessions; their ids are derived from the user and these names, so seeding twice adds nothing. */
const DEMO = [
  {
    id: "arithmetic",
    title: "Arithmetic",
    runId: "arithmetic-run",
    text: "What is 12 * (3 + 4)?",
    call: { id: "call_seed_1", name: "calculator", arguments: '{"expression":"12 * (3 + 4)"}' },
    result: '{"result":84}',
    reply: "12 * (3 + 4) = 84.",
  },
  {
    id: "cat",
    title: "Remember my cat",
    runId: "cat-run",
    text: "Remember that my cat is called Mochi",
    call: { id: "call_seed_2", name: "remember", arguments: '{"fact":"my cat is called Mochi"}' },
    result: '{"result":"saved"}',
    reply: "I will remember that my cat is called Mochi.",
  },
] as const;

/**
 * `bun run admin seed [--user demo]`: a demo user with two sessions, their messages and tool
 * calls, and one remembered fact. Idempotent: the sessions, runs and fact have fixed ids and keys,
 * so a second run (or two at once) finds them and adds nothing.
 */
export const seedCommand = defineCommand({
  name: "seed",
  description: "Add a demo user with two sessions and a remembered fact (idempotent; --user, default demo)",
  args: v.object({ user: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(128)), "demo") }),
  async run({ args, get, print }) {
    const { sessions, facts } = get(AgentStore);
    let added = 0;
    for (const demo of DEMO) {
      const id = await idFor(args.user, demo.id);
      if (await sessions.seed({ id, owner: args.user, title: demo.title })) added++;
      const exchange: Exchange = {
        runId: await idFor(args.user, demo.runId),
        user: args.user,
        input: [{ role: "user", content: demo.text }],
        messages: [
          { role: "assistant", content: "", toolCalls: [demo.call] },
          { role: "tool", content: demo.result, toolCallId: demo.call.id },
          { role: "assistant", content: demo.reply },
        ],
        reply: demo.reply,
        usage: { input_tokens: 0, output_tokens: 0 },
        turns: [],
      };
      await sessions.save(id, exchange, { model: "seed", costUsd: 0 });
    }
    await facts.remember(args.user, "my cat is called Mochi", `seed:${args.user}:cat`);
    print(`seeded user "${args.user}": ${DEMO.length} sessions (${added} new)`);
  },
});

/** A UUID (version 4 shaped) derived from the user and a demo name: the same every time. */
async function idFor(user: string, base: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${user}\n${base}`)));
  const hex = Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
