import { createAuth, httpConfig } from "@twelvefold/http";
import { defineCommand, env } from "@twelvefold/kernel";
import * as v from "valibot";

/**
 * `bun run admin token --sub alice [--minutes 60]`: prints a JWT for `alice`, signed with the
 * SECRET_KEY the web process checks tokens with (HS256, JWT_AUDIENCE and JWT_ISSUER when set). It
 * starts nothing: it needs no database, and runs beside a `bun run dev` that holds the PGlite folder.
 */
export const tokenCommand = defineCommand({
  name: "token",
  description: "Print a JWT for --sub, signed with SECRET_KEY (for local use; --minutes, default JWT_EXPIRE_MINUTES)",
  args: v.object({
    sub: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(128)),
    minutes: v.optional(env.integer({ min: 1, max: 60 * 24 * 365 })),
  }),
  config: httpConfig,
  startsApp: false,
  async run({ args, config, print }) {
    if (config.SECRET_KEY === undefined) {
      throw new Error("agent: cannot sign a token: SECRET_KEY is not set (set it as the web process has it)");
    }
    const auth = createAuth({
      secretKey: config.SECRET_KEY,
      audience: config.JWT_AUDIENCE,
      issuer: config.JWT_ISSUER,
      expireMinutes: args.minutes ?? config.JWT_EXPIRE_MINUTES,
    });
    print(await auth.sign(args.sub));
  },
});
