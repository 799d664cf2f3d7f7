import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { definePlugin } from "@twelvefold/kernel";
import { sign } from "hono/jwt";
import { startApp } from "../test/start.ts";
import { createAuth, HttpAuth } from "./auth.ts";
import { HttpError } from "./errors.ts";
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

  test("with neither SECRET_KEY nor JWT_JWKS_URL a protected route refuses every token", async () => {
    await using t = await startApp([protectedRoute]);
    const token = await createAuth({ secretKey: SECRET, expireMinutes: 5 }).sign("u");
    const response = await t.handle("/me", { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      code: "TF_HTTP_UNAUTHORIZED",
      detail: "Authentication is not available",
    });
    await expect(t.app.get(HttpAuth).sign("u")).rejects.toThrow("SECRET_KEY is not set");
  });
});

type Jwk = JsonWebKey & { kid: string; alg: string };

/** An ES256 key pair as JWKs: the public half for the JWKS, the private half to sign with. */
async function keyPair(kid: string): Promise<{ publicJwk: Jwk; privateJwk: Jwk }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const publicJwk = { ...(await crypto.subtle.exportKey("jwk", pair.publicKey)), kid, alg: "ES256" };
  const privateJwk = { ...(await crypto.subtle.exportKey("jwk", pair.privateKey)), kid, alg: "ES256" };
  return { publicJwk, privateJwk };
}

/** A local identity provider: serves `keys` as its JWKS and counts the fetches. */
function jwksServer() {
  const state = {
    keys: [] as Jwk[],
    fetches: 0,
    answer: undefined as (() => Response) | undefined,
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch() {
      state.fetches++;
      return state.answer?.() ?? Response.json({ keys: state.keys });
    },
  });
  return { state, url: `http://127.0.0.1:${server.port}/.well-known/jwks.json`, stop: () => server.stop(true) };
}

const AUDIENCE = "agent";
const ISSUER = "https://id.example";
const now = () => Math.floor(Date.now() / 1000);
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe("JWT authentication against a JWKS", () => {
  const idp = jwksServer();
  let current: Awaited<ReturnType<typeof keyPair>>;
  let next: Awaited<ReturnType<typeof keyPair>>;
  const env = () => ({ JWT_JWKS_URL: idp.url, JWT_AUDIENCE: AUDIENCE, JWT_ISSUER: ISSUER });
  const claims = (extra: Record<string, unknown> = {}) => ({
    sub: "user-7",
    aud: AUDIENCE,
    iss: ISSUER,
    iat: now(),
    exp: now() + 300,
    ...extra,
  });

  beforeAll(async () => {
    current = await keyPair("key-1");
    next = await keyPair("key-2");
  });
  afterEach(() => {
    idp.state.keys = [current.publicJwk];
    idp.state.fetches = 0;
    idp.state.answer = undefined;
    setSystemTime();
  });
  afterAll(() => idp.stop());

  test("a token signed by a key in the JWKS reaches the route; the JWKS is fetched once and cached", async () => {
    idp.state.keys = [current.publicJwk];
    await using t = await startApp([protectedRoute], { env: env() });
    const token = await sign(claims(), current.privateJwk);
    for (let i = 0; i < 3; i++) {
      const response = await t.handle("/me", bearer(token));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ subject: "user-7" });
    }
    expect(idp.state.fetches).toBe(1);
  });

  test("an expired token, another audience or issuer, a forged signature or no expiry is a 401 invalid_token", async () => {
    await using t = await startApp([protectedRoute], { env: env() });
    const impostor = await keyPair("key-1");
    const cases: Array<[string, Promise<string>, string]> = [
      ["expired", sign(claims({ iat: now() - 600, exp: now() - 60 }), current.privateJwk), "The token has expired"],
      ["audience", sign(claims({ aud: "billing" }), current.privateJwk), "The token is invalid"],
      ["issuer", sign(claims({ iss: "https://evil.example" }), current.privateJwk), "The token is invalid"],
      ["forged", sign(claims(), impostor.privateJwk), "The token is invalid"],
      ["no exp", sign(claims({ exp: undefined }), current.privateJwk), "The token has no expiry"],
    ];
    for (const [name, token, detail] of cases) {
      const response = await t.handle("/me", bearer(await token));
      expect({ name, status: response.status }).toEqual({ name, status: 401 });
      expect(response.headers.get("www-authenticate")).toBe(
        `Bearer realm="api", error="invalid_token", error_description="${detail}"`,
      );
      expect(await response.json()).toMatchObject({ code: "TF_HTTP_UNAUTHORIZED", detail });
    }
    // The key was known: none of these made the server ask the identity provider again.
    expect(idp.state.fetches).toBe(1);
  });

  test("a token naming a key the cache lacks refetches the JWKS: a rotated-in key works, an unknown one does not", async () => {
    await using t = await startApp([protectedRoute], { env: env() });
    expect((await t.handle("/me", bearer(await sign(claims(), current.privateJwk)))).status).toBe(200);
    expect(idp.state.fetches).toBe(1);

    idp.state.keys = [current.publicJwk, next.publicJwk];
    setSystemTime(new Date(Date.now() + 31_000));
    const rotated = await t.handle("/me", bearer(await sign(claims({ sub: "user-8" }), next.privateJwk)));
    expect(rotated.status).toBe(200);
    expect(await rotated.json()).toEqual({ subject: "user-8" });
    expect(idp.state.fetches).toBe(2);

    const stranger = await keyPair("key-3");
    const unknown = await t.handle("/me", bearer(await sign(claims(), stranger.privateJwk)));
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  test("made-up key ids cannot make the server hammer the identity provider: one refetch per 30 s", async () => {
    await using t = await startApp([protectedRoute], { env: env() });
    expect((await t.handle("/me", bearer(await sign(claims(), current.privateJwk)))).status).toBe(200);
    setSystemTime(new Date(Date.now() + 31_000));
    const stranger = await keyPair("key-4");
    const forged = await sign(claims(), stranger.privateJwk);
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.handle("/me", bearer(forged))));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(401));
    // The first forged token forced one refetch (shared by the concurrent ones); the rest wait out the cooldown.
    expect(idp.state.fetches).toBe(2);
    for (let i = 0; i < 5; i++) await t.handle("/me", bearer(forged));
    expect(idp.state.fetches).toBe(2);
  });

  test("a key removed from the JWKS stops working once the ten-minute cache runs out", async () => {
    await using t = await startApp([protectedRoute], { env: env() });
    const token = await sign(claims({ exp: now() + 3600 }), current.privateJwk);
    expect((await t.handle("/me", bearer(token))).status).toBe(200);

    idp.state.keys = [next.publicJwk];
    // Still cached: the revoked key is honoured until the cache expires.
    expect((await t.handle("/me", bearer(token))).status).toBe(200);
    expect(idp.state.fetches).toBe(1);

    setSystemTime(new Date(Date.now() + 11 * 60_000));
    const revoked = await t.handle("/me", bearer(token));
    expect(revoked.status).toBe(401);
    expect(idp.state.fetches).toBeGreaterThan(1);
  });

  test("when the JWKS cannot be had, the answer is a 503, not a 401 that tells the client to drop its token", async () => {
    const token = await sign(claims(), current.privateJwk);
    const outages: Array<[string, () => Response]> = [
      ["server error", () => new Response("upstream down", { status: 502 })],
      ["no keys array", () => Response.json({ keys: "nope" })],
      ["not json", () => new Response("<html>login</html>", { headers: { "content-type": "text/html" } })],
    ];
    for (const [name, answer] of outages) {
      idp.state.answer = answer;
      await using t = await startApp([protectedRoute], { env: env() });
      const response = await t.handle("/me", bearer(token));
      expect({ name, status: response.status }).toEqual({ name, status: 503 });
      expect(response.headers.get("www-authenticate")).toBeNull();
      expect(await response.json()).toMatchObject({ code: "TF_HTTP_UNAVAILABLE" });
    }

    const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const refusedUrl = `http://127.0.0.1:${closed.port}/jwks.json`;
    await closed.stop(true);
    {
      await using t = await startApp([protectedRoute], { env: { ...env(), JWT_JWKS_URL: refusedUrl } });
      const refused = await t.handle("/me", bearer(token));
      expect(refused.status).toBe(503);
    }

    // The identity provider is back: the same token now works.
    idp.state.answer = undefined;
    await using t = await startApp([protectedRoute], { env: env() });
    expect((await t.handle("/me", bearer(token))).status).toBe(200);
  });
});

test("signing without SECRET_KEY is refused with a catalogued error, not an anonymous one", async () => {
  const auth = createAuth({ audience: "agent", expireMinutes: 5 });
  const refused = await auth.sign("u").catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(HttpError);
  expect(refused).toMatchObject({
    code: "TF_HTTP_NO_SIGNING_KEY",
    message: "http: cannot sign tokens: SECRET_KEY is not set",
  });
});
