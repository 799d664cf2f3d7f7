import type { RedisClientType } from "@redis/client";
import type { Logger, Span, Tracer } from "@twelvefold/kernel";
import { failSpan } from "@twelvefold/kernel";
import { redisErrors, toRedisError } from "./errors.ts";

/** Options of {@link connectRedis}. */
export interface RedisConnectionOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://` for TLS. */
  readonly url: string;
  /** Prefix of every key the adapters write (default `"tf:"`). */
  readonly prefix?: string;
  /** How long the first connection may take before `open` fails (default 5 000). */
  readonly connectTimeoutMs?: number;
  /** Where outages and recoveries are reported, once each. */
  readonly logger?: Logger;
  /** When given, every command that matters is a client span (`db.system.name` redis). */
  readonly tracer?: Tracer;
}

/** A Lua script, sent by its SHA-1 and loaded on the first NOSCRIPT (after a server restart, say). */
export interface Script {
  readonly name: string;
  readonly source: string;
}

type Client = RedisClientType;
type Reply = unknown;

/** Reconnect delays: 50 ms doubling to 2 s, with up to 100 ms of jitter so replicas do not stampede. */
function backoff(retries: number): number {
  return Math.min(50 * 2 ** retries, 2_000) + Math.floor(Math.random() * 100);
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** Where the server is, for messages and span attributes: never the password. */
export function describeServer(url: string): { address: string; port: number; database: number } {
  const parsed = new URL(url);
  const database = Number(parsed.pathname.slice(1) || "0");
  return { address: parsed.hostname, port: Number(parsed.port || 6379), database };
}

/**
 * Loads node-redis (only now: it costs tens of milliseconds to import) and connects. Rejects
 * with `TF_REDIS_CONNECT` when the server does not answer within `connectTimeoutMs`.
 *
 * @example
 * ```ts
 * const connection = await connectRedis({ url: "redis://127.0.0.1:6379", prefix: "app:" });
 * await connection.close();
 * ```
 */
export async function connectRedis(options: RedisConnectionOptions): Promise<RedisConnection> {
  const { createClient } = await import("@redis/client");
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const began = Date.now();
  let connected = false;
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      // Before the first connection, give up after connectTimeoutMs so the start fails clearly;
      // after it, reconnect for as long as it takes.
      reconnectStrategy: (retries: number, cause: Error) =>
        !connected && Date.now() - began >= connectTimeoutMs ? cause : backoff(retries),
    },
  }) as unknown as Client;
  const connection = new RedisConnection(client, options);
  const { address, port } = connection.server;
  try {
    await client.connect();
    connected = true;
  } catch (error) {
    if (client.isOpen) client.destroy();
    const reason =
      error instanceof Error ? (error.cause instanceof Error ? error.cause : error).message : String(error);
    throw redisErrors.create("TF_REDIS_CONNECT", { server: `${address}:${port}`, reason }, { cause: error });
  }
  return connection;
}

/**
 * One node-redis client shared by every adapter of an app, plus dedicated connections for
 * blocking reads ({@link RedisConnection.blocking}). Commands fail at once with a retryable
 * {@link RedisError} while the server is away (node-redis's offline queue is off, so nothing
 * hangs through an outage), the client reconnects with backoff, and the outage and the recovery
 * are each logged once.
 */
export class RedisConnection {
  readonly prefix: string;
  readonly server: { readonly address: string; readonly port: number; readonly database: number };
  readonly #client: Client;
  readonly #logger: Logger | undefined;
  readonly #tracer: Tracer | undefined;
  readonly #shas = new Map<Script, Promise<string>>();
  readonly #blocking = new Set<BlockingConnection>();
  #downSince: number | undefined;
  #closed: Promise<void> | undefined;

  /** @internal Use {@link connectRedis}. */
  constructor(client: Client, options: RedisConnectionOptions) {
    this.#client = client;
    this.prefix = options.prefix ?? "tf:";
    this.server = describeServer(options.url);
    this.#logger = options.logger;
    this.#tracer = options.tracer;
    client.on("error", (error: unknown) => this.#lost(error));
    client.on("ready", () => this.#restored());
  }

  /** True while the connection is up. */
  get ready(): boolean {
    return this.#client.isReady;
  }

  /** Sends one command. `summary` names it in errors and spans (`"cache get"`). */
  send<T = Reply>(args: readonly string[], summary: string): Promise<T> {
    if (this.#tracer === undefined) return this.#send(args, summary) as Promise<T>;
    return this.#traced(summary, args[0] as string, () => this.#send(args, summary)) as Promise<T>;
  }

  /** Runs a Lua script by SHA-1, loading it on NOSCRIPT. */
  eval<T = Reply>(script: Script, keys: readonly string[], args: readonly string[], summary: string): Promise<T> {
    if (this.#tracer === undefined) return this.#eval(script, keys, args, summary) as Promise<T>;
    return this.#traced(summary, "EVALSHA", () => this.#eval(script, keys, args, summary)) as Promise<T>;
  }

  /** PING under a deadline, for health checks. */
  async ping(signal: AbortSignal): Promise<void> {
    if (!this.#client.isReady) {
      throw redisErrors.create("TF_REDIS_UNAVAILABLE", { what: "ping", reason: "reconnecting to the server" });
    }
    await this.#send(["PING"], "ping", signal);
  }

  /** The server's `maxmemory-policy` (from INFO, which managed services allow where CONFIG is not). */
  async evictionPolicy(): Promise<string | undefined> {
    const info = await this.send<string>(["INFO", "memory"], "info");
    return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  }

  /**
   * A connection of its own for a blocking read loop (XREADGROUP BLOCK, XREAD BLOCK), so the
   * shared client is never held up. It reconnects like the shared one.
   */
  async blocking(): Promise<BlockingConnection> {
    const client = this.#client.duplicate() as unknown as Client;
    const connection = new BlockingConnection(client, this);
    client.on("error", () => {});
    await client.connect().catch((error: unknown) => {
      if (client.isOpen) client.destroy();
      throw toRedisError(error, "opening a blocking connection");
    });
    await connection.identify();
    this.#blocking.add(connection);
    connection.onClose(() => this.#blocking.delete(connection));
    return connection;
  }

  /** Closes the blocking connections and then the client, letting commands in flight finish. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const connection of [...this.#blocking]) connection.close();
      if (this.#client.isOpen) await this.#client.close().catch(() => this.#client.destroy());
    })();
    return this.#closed;
  }

  /** @internal Sends on the shared client, mapping failures to RedisError. */
  async #send(args: readonly string[], summary: string, signal?: AbortSignal): Promise<Reply> {
    try {
      return await this.#client.sendCommand(args as string[], signal ? { abortSignal: signal } : undefined);
    } catch (error) {
      throw toRedisError(error, summary);
    }
  }

  async #eval(script: Script, keys: readonly string[], args: readonly string[], summary: string): Promise<Reply> {
    const sha = await this.#sha(script);
    const rest = [String(keys.length), ...keys, ...args];
    try {
      return await this.#client.sendCommand(["EVALSHA", sha, ...rest]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw toRedisError(error, summary);
    }
    return this.#send(["EVAL", script.source, ...rest], summary);
  }

  #sha(script: Script): Promise<string> {
    let sha = this.#shas.get(script);
    if (sha === undefined) {
      sha = crypto.subtle.digest("SHA-1", new TextEncoder().encode(script.source)).then(hex);
      this.#shas.set(script, sha);
    }
    return sha;
  }

  async #traced(summary: string, operation: string, fn: () => Promise<Reply>): Promise<Reply> {
    const tracer = this.#tracer as Tracer;
    const span: Span = tracer.startSpan(summary, {
      kind: "client",
      attributes: {
        "db.system.name": "redis",
        "db.operation.name": operation,
        "db.query.summary": summary,
        "db.namespace": String(this.server.database),
        "server.address": this.server.address,
        "server.port": this.server.port,
      },
    });
    try {
      return await fn();
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  #lost(error: unknown): void {
    if (this.#downSince !== undefined || this.#closed) return;
    this.#downSince = Date.now();
    const { address, port } = this.server;
    this.#logger?.warn("redis: connection lost: reconnecting; commands fail until it is back", {
      server: `${address}:${port}`,
      error,
    });
  }

  #restored(): void {
    if (this.#downSince === undefined) return;
    const downMs = Date.now() - this.#downSince;
    this.#downSince = undefined;
    this.#logger?.info("redis: connection restored", { down_ms: downMs });
  }

  /** @internal For BlockingConnection: unblocks a client blocked in a read. */
  unblock(id: number): Promise<Reply> {
    return this.#send(["CLIENT", "UNBLOCK", String(id)], "unblock");
  }
}

/**
 * A dedicated connection for one blocking read loop. `unblock()` ends a read in progress at
 * once (CLIENT UNBLOCK from the shared client), so a consumer stops without waiting out its BLOCK.
 */
export class BlockingConnection {
  readonly #client: Client;
  readonly #shared: RedisConnection;
  readonly #closeListeners: Array<() => void> = [];
  #id: number | undefined;
  #closed = false;

  constructor(client: Client, shared: RedisConnection) {
    this.#client = client;
    this.#shared = shared;
    // A reconnect gives the connection a new id.
    client.on("ready", () => void this.identify().catch(() => {}));
  }

  /** @internal Learns the connection's id, for CLIENT UNBLOCK. */
  async identify(): Promise<void> {
    this.#id = (await this.#client.sendCommand(["CLIENT", "ID"])) as number;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a (blocking) command on this connection. */
  async send<T = Reply>(args: readonly string[], summary: string): Promise<T> {
    try {
      return (await this.#client.sendCommand(args as string[])) as T;
    } catch (error) {
      throw toRedisError(error, summary);
    }
  }

  /** Ends a blocking read in progress, which then returns as if it had timed out. */
  async unblock(): Promise<void> {
    if (this.#id !== undefined && this.#shared.ready) await this.#shared.unblock(this.#id).catch(() => {});
  }

  onClose(listener: () => void): void {
    this.#closeListeners.push(listener);
  }

  /** Drops the connection at once (a read in progress rejects). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#client.isOpen) this.#client.destroy();
    for (const listener of this.#closeListeners.splice(0)) listener();
  }
}
