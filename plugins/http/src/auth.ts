import { quote, token } from "@twelvefold/kernel";
import type { MiddlewareHandler } from "hono";
import type { HttpEnv } from "./core.ts";
import { HttpError, httpErrors } from "./errors.ts";

/** hono/jwt, loaded on the first token signed or checked: most processes (workers) never need it. */
let jwtModule: Promise<Jwt> | undefined;
const jwt = () => {
  jwtModule ??= import("hono/jwt");
  return jwtModule;
};

type Jwt = typeof import("hono/jwt");
type JwtPayload = Awaited<ReturnType<Jwt["verify"]>>;
type Jwk = NonNullable<Parameters<Jwt["verifyWithJwks"]>[1]["keys"]>[number];

/** Options for {@link createAuth}. */
export interface AuthOptions {
  /** HS256 key (SECRET_KEY). */
  readonly secretKey?: string;
  /** Verify RS256/ES256/EdDSA tokens against this JWKS instead. */
  readonly jwksUrl?: string;
  readonly audience?: string;
  readonly issuer?: string;
  /** Lifetime of tokens that {@link HttpAuth.sign} issues (JWT_EXPIRE_MINUTES). */
  readonly expireMinutes: number;
  /**
   * Seconds a token's `exp`, `nbf` and `iat` may be off by (JWT_CLOCK_SKEW_S, default 0 here and
   * 30 through the plugin): the clocks of the issuer and of this host never agree exactly.
   */
  readonly clockSkewSeconds?: number;
  /** Seconds since the epoch; injectable for tests. */
  readonly clock?: () => number;
}

/** Bearer-token authentication: a middleware for routes, and token issuing for HS256 setups. */
export interface HttpAuth {
  /**
   * Middleware that requires a valid `Authorization: Bearer` token: signature, expiry, audience
   * and issuer. Sets the request's `subject` (the `sub` claim) and `c.get("jwtPayload")`.
   * Answers 401 with `WWW-Authenticate` otherwise, and 503 when the JWKS cannot be fetched.
   */
  middleware(): MiddlewareHandler<HttpEnv & { Variables: { jwtPayload: JwtPayload } }>;
  /** Issues an HS256 token for `subject` that expires after JWT_EXPIRE_MINUTES. */
  sign(subject: string, claims?: Readonly<Record<string, unknown>>): Promise<string>;
  /** Verifies a token and returns its claims; rejects with a 401 {@link HttpError}. */
  verify(token: string): Promise<JwtPayload>;
}

/** The JWT authentication the http plugin builds from SECRET_KEY or JWT_JWKS_URL, for apps. */
export const HttpAuth = token<HttpAuth>("twelvefold/http/HttpAuth");

const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"] as const;
/** Shortest time between two refetches forced by unknown key ids (jose uses the same default). */
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_TTL_MS = 10 * 60_000;

function unauthorized(reason: string, detail: string, error?: "invalid_token"): HttpError {
  const challenge = error
    ? `Bearer realm="api", error="${error}", error_description="${detail}"`
    : 'Bearer realm="api"';
  return httpErrors.create("TF_HTTP_UNAUTHORIZED", { reason }, { detail, headers: { "www-authenticate": challenge } });
}

const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/**
 * The time claims, each allowed `skew` seconds: `exp` is required and must not have passed,
 * `nbf` (when present) must have come, `iat` (when present) must not be in the future.
 */
function checkTimes(payload: JwtPayload, now: number, skew: number): void {
  const { exp, nbf, iat } = payload;
  if (!isTime(exp)) throw unauthorized("token rejected: no exp claim", "The token has no expiry", "invalid_token");
  if (exp + skew <= now)
    throw unauthorized("token rejected: JwtTokenExpired", "The token has expired", "invalid_token");
  if (nbf !== undefined && (!isTime(nbf) || nbf - skew > now)) {
    throw unauthorized("token rejected: JwtTokenNotBefore", "The token is not valid yet", "invalid_token");
  }
  if (iat !== undefined && (!isTime(iat) || iat - skew > now)) {
    throw unauthorized("token rejected: JwtTokenIssuedAt", "The token is invalid", "invalid_token");
  }
}

/**
 * Builds the JWT authentication. HS256 with the secret key, or a JWKS URL (keys cached for ten
 * minutes and refetched when a token names an unknown key). Uses hono/jwt for the cryptography.
 *
 * @example
 * ```ts
 * const auth = createAuth({ secretKey: config.SECRET_KEY, expireMinutes: 60 });
 * app.get("/me", auth.middleware(), (c) => c.json({ sub: requestFacts(c).subject }));
 * ```
 */
export function createAuth(options: AuthOptions): HttpAuth {
  const clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  const skew = options.clockSkewSeconds ?? 0;
  // hono/jwt checks the time claims with no allowance for skew: it checks the signature, the
  // audience and the issuer, and the time claims are checked below, against the same clock.
  const verification = {
    ...(options.audience ? { aud: options.audience } : {}),
    ...(options.issuer ? { iss: options.issuer } : {}),
    exp: false,
    nbf: false,
    iat: false,
  };
  let keys: { value: Jwk[]; fetchedAt: number } | undefined;

  let fetching: Promise<Jwk[]> | undefined;

  /**
   * The JWKS, cached for ten minutes. A token naming an unknown key forces a refetch, but at most
   * one per JWKS_COOLDOWN_MS and one at a time: otherwise any client could make the server call
   * the identity provider once per request just by sending made-up key ids.
   */
  function jwks(refresh: boolean): Promise<Jwk[]> {
    const age = keys ? Date.now() - keys.fetchedAt : Number.POSITIVE_INFINITY;
    if (keys && age < (refresh ? JWKS_COOLDOWN_MS : JWKS_TTL_MS)) return Promise.resolve(keys.value);
    fetching ??= fetchJwks().finally(() => {
      fetching = undefined;
    });
    return fetching;
  }

  async function fetchJwks(): Promise<Jwk[]> {
    const url = options.jwksUrl as string;
    // An outage of the identity provider is ours, not the client's: a 503, never a 401 that
    // would tell it to throw its (valid) token away.
    const unavailable = (reason: string, cause?: unknown) =>
      httpErrors.create(
        "TF_HTTP_UNAVAILABLE",
        { reason: `cannot fetch the JWKS from ${quote(url)}: ${reason}` },
        { detail: "Authentication is unavailable", cause },
      );
    let body: { keys?: unknown };
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw unavailable(`status ${response.status}`);
      body = (await response.json()) as { keys?: unknown };
    } catch (error) {
      throw error instanceof HttpError ? error : unavailable((error as Error).message, error);
    }
    if (!Array.isArray(body.keys)) throw unavailable('no "keys" array');
    keys = { value: body.keys as Jwk[], fetchedAt: Date.now() };
    return keys.value;
  }

  async function check(token: string): Promise<JwtPayload> {
    let payload: JwtPayload;
    const { verify, verifyWithJwks } = await jwt();
    try {
      if (options.jwksUrl) {
        const opts = { allowedAlgorithms: ASYMMETRIC, verification };
        try {
          payload = await verifyWithJwks(token, { ...opts, keys: await jwks(false) });
        } catch (error) {
          if ((error as Error).name !== "JwtTokenInvalid") throw error;
          payload = await verifyWithJwks(token, { ...opts, keys: await jwks(true) });
        }
      } else if (options.secretKey) {
        payload = await verify(token, options.secretKey, { alg: "HS256", ...verification });
      } else {
        throw httpErrors.create(
          "TF_HTTP_UNAUTHORIZED",
          { reason: "authentication is not configured: set SECRET_KEY or JWT_JWKS_URL" },
          { detail: "Authentication is not available" },
        );
      }
    } catch (error) {
      if (error instanceof HttpError) throw error;
      const name = (error as Error).name;
      const expired = name === "JwtTokenExpired";
      throw unauthorized(
        `token rejected: ${name}`,
        expired ? "The token has expired" : "The token is invalid",
        "invalid_token",
      );
    }
    checkTimes(payload, clock(), skew);
    return payload;
  }

  return {
    middleware() {
      return async function authenticate(c, next) {
        const header = c.req.header("authorization");
        const match = header ? /^Bearer[ ]+([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(header) : null;
        if (!match) throw unauthorized("no bearer token", "A bearer token is required");
        const payload = await check(match[1] as string);
        c.set("jwtPayload", payload);
        c.env.subject = typeof payload.sub === "string" ? payload.sub : undefined;
        await next();
      };
    },
    async sign(subject, claims = {}) {
      if (!options.secretKey) throw httpErrors.create("TF_HTTP_NO_SIGNING_KEY");
      const now = clock();
      const { sign } = await jwt();
      return await sign(
        {
          ...claims,
          sub: subject,
          iat: now,
          exp: now + options.expireMinutes * 60,
          ...(options.audience ? { aud: options.audience } : {}),
          ...(options.issuer ? { iss: options.issuer } : {}),
        },
        options.secretKey,
        "HS256",
      );
    },
    verify: check,
  };
}
