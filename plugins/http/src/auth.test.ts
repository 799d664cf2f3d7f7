import { describe, expect, test } from "bun:test";
import { definePlugin } from "@twelvefold/kernel";
import { startApp } from "../test/start.ts";
import { createAuth, HttpAuth } from "./auth.ts";
import { HttpApp } from "./plugin.ts";

const SECRET = "a-test-secret-of-at-least-32-characters!";

const protectedRoute = definePlugin({
  name: "me",
  requires: [HttpApp, HttpAuth],
  start({ get }) {
    get(HttpApp).get("/me", get(HttpAuth).middleware(), (c) => c.json({ subject: c.env.subject }));
  },
});

describe("JWT authentication", () => {
  test("a valid HS256 token reaches the route with its subject", async () => {
    await using t = await startApp([protectedRoute], { env: { SECRET_KEY: SECRET, JWT_AUDIENCE: "agent" } });
    const token = await t.app.get(HttpAuth).sign("user-1");
    const response = await t.handle("/me", { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ subject: "user-1" });
  });

  test("no token, a bad token, an expired one or the wrong audience is a 401 with WWW-Authenticate", async () => {
    await using t = await startApp([protectedRoute], { env: { SECRET_KEY: SECRET, JWT_AUDIENCE: "agent" } });
    const missing = await t.handle("/me");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    expect(((await missing.json()) as { code: string }).code).toBe("TF_HTTP_UNAUTHORIZED");

    const past = createAuth({ secretKey: SECRET, audience: "agent", expireMinutes: 1, clock: () => 1_000 });
    const expired = await t.handle("/me", { headers: { authorization: `Bearer ${await past.sign("u")}` } });
    expect(expired.status).toBe(401);
    expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(((await expired.json()) as { detail: string }).detail).toBe("The token has expired");

    const otherAudience = createAuth({ secretKey: SECRET, audience: "billing", expireMinutes: 5 });
    const wrong = await t.handle("/me", { headers: { authorization: `Bearer ${await otherAudience.sign("u")}` } });
    expect(wrong.status).toBe(401);

    const otherKey = createAuth({ secretKey: `${SECRET}-other`, audience: "agent", expireMinutes: 5 });
    const forged = await t.handle("/me", { headers: { authorization: `Bearer ${await otherKey.sign("u")}` } });
    expect(forged.status).toBe(401);
  });

  test("tokens expire after JWT_EXPIRE_MINUTES", async () => {
    const auth = createAuth({ secretKey: SECRET, expireMinutes: 15, clock: () => 1_000_000 });
    const claims = await createAuth({ secretKey: SECRET, expireMinutes: 15 })
      .verify(await auth.sign("u"))
      .catch((e) => e);
    // Signed in 1970: verification refuses it; its exp is iat + 15 minutes.
    expect(claims).toBeInstanceOf(Error);
    const fresh = createAuth({ secretKey: SECRET, expireMinutes: 15 });
    const payload = await fresh.verify(await fresh.sign("u"));
    expect((payload.exp as number) - (payload.iat as number)).toBe(15 * 60);
  });
});
