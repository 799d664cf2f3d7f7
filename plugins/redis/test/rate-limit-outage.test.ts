// The rate limiter over the Redis store through an outage: RATE_LIMIT_FAIL_OPEN decides, and the
// outage is logged once when it begins and once when it ends.
import { describe, expect, test } from "bun:test";
import { testApp } from "@twelvefold/testing";
import { http } from "../../http/mod.ts";
import { rateLimit } from "../../rate-limit/mod.ts";
import { redis } from "../mod.ts";
import { ownRedis } from "./server.ts";

describe("the rate limiter on Redis while Redis is away", () => {
  for (const failOpen of [true, false]) {
    test(`RATE_LIMIT_FAIL_OPEN=${failOpen}: ${failOpen ? "admits" : "refuses with 429"}, logged once per outage`, async () => {
      await using server = await ownRedis();
      await using t = await testApp({
        plugins: [redis(), http(), rateLimit()],
        env: { REDIS_URL: server.url, RATE_LIMIT_PER_MINUTE: "100", RATE_LIMIT_FAIL_OPEN: String(failOpen) },
      });
      expect((await t.fetch("/livez")).status).toBe(200);
      const limited = await t.fetch("/nothing-here");
      expect(limited.headers.get("ratelimit")).toMatch(/r=99/);
      await server.stop();
      const during = [];
      for (let i = 0; i < 5; i++) during.push(await t.fetch("/nothing-here"));
      expect(during.map((r) => r.status)).toEqual(Array(5).fill(failOpen ? 404 : 429));
      if (!failOpen) expect(during[0]?.headers.get("retry-after")).toBe("1");
      const failed = t.logs.filter((l) => String(l.message).startsWith("rate-limit store failed"));
      expect(failed).toHaveLength(1);
      await server.start();
      const recovered = () => t.logs.filter((l) => l.message === "rate-limit store is back: limiting again");
      let after: Response | undefined;
      for (let i = 0; i < 250 && recovered().length === 0; i++) {
        after = await t.fetch("/nothing-here");
        await Bun.sleep(20);
      }
      expect(recovered()).toHaveLength(1);
      expect(after?.status).toBe(404);
      // Counted again, from zero: this test server keeps nothing across a restart.
      expect(after?.headers.get("ratelimit")).toMatch(/r=99;/);
    });
  }
});
