/** Shared set-up of the tests that need a Redis server: a unique key prefix per run, removed afterwards. */
import { afterAll } from "bun:test";
import { requireService } from "../../../test/services.ts";
import { connectRedis, type RedisConnection } from "../src/connection.ts";

/** The shared server (never flushed: every run writes under a prefix of its own). */
export const REDIS_URL = process.env.REDIS_TEST_URL ?? "redis://127.0.0.1:6379";

/** True when the server answers; false (with a one-line reason) locally without it, a failure under CI=true. */
export const redisAvailable = await requireService("Redis", REDIS_URL);

/** A prefix no other run uses: `tf-test:1a2b3c4d:`. */
export function uniquePrefix(): string {
  return `tf-test:${crypto.randomUUID().slice(0, 8)}:`;
}

/** Deletes every key under `prefix`, on a short-lived connection of its own. */
export async function removeKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const connection = await connectRedis({ url, prefix });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await connection.send<[string, string[]]>(
        ["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "1000"],
        "test cleanup",
      );
      if (keys.length > 0) await connection.send(["UNLINK", ...keys], "test cleanup");
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await connection.close();
  }
}

/**
 * One connection for a test file, under a prefix of its own; closed and its keys removed after
 * the file's tests. Opened on first use, so a file whose tests are skipped connects to nothing.
 */
export function fileConnection(): () => Promise<RedisConnection> {
  const prefix = uniquePrefix();
  let opened: Promise<RedisConnection> | undefined;
  afterAll(async () => {
    if (opened === undefined) return;
    await (await opened).close();
    await removeKeys(prefix);
  });
  return () => {
    opened ??= connectRedis({ url: REDIS_URL, prefix });
    return opened;
  };
}
