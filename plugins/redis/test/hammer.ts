// One of the rate-limit hammer processes: HITS concurrent hits on one key with limit LIMIT.
import { connectRedis } from "../src/connection.ts";
import { redisRateLimitStore } from "../src/rate-limit.ts";

const { REDIS_URL = "", REDIS_KEY_PREFIX = "", HITS = "5000", LIMIT = "1000" } = process.env;
const connection = await connectRedis({ url: REDIS_URL, prefix: REDIS_KEY_PREFIX });
const store = redisRateLimitStore(connection);
const results = await Promise.all(
  Array.from({ length: Number(HITS) }, () => store.hit("hammered", Number(LIMIT), 60_000)),
);
const allowed = results.filter((r) => r.allowed).length;
process.stdout.write(`${JSON.stringify({ event: "done", allowed, refused: results.length - allowed })}\n`);
await connection.close();
