import { expect, test } from "bun:test";
import { errorsContract } from "@twelvefold/testing";
import { redisErrors, toRedisError } from "./errors.ts";

errorsContract("redis", redisErrors, {
  TF_REDIS_CONNECT: { server: "127.0.0.1:6379", reason: "connect ECONNREFUSED 127.0.0.1:6379" },
  TF_REDIS_UNAVAILABLE: { what: "cache get", reason: "The client is offline" },
  TF_REDIS_COMMAND: { what: "cache get", reason: "WRONGTYPE Operation against a key holding the wrong kind of value" },
  TF_REDIS_CLOSED: { what: "cache get" },
});

test("node-redis failures map to codes by what they mean", () => {
  class ClientOfflineError extends Error {}
  class ClientClosedError extends Error {}
  expect(toRedisError(new ClientOfflineError("The client is offline"), "cache get").retryable).toBe(true);
  expect(toRedisError(new ClientClosedError("The client is closed"), "cache get").code).toBe("TF_REDIS_CLOSED");
  expect(toRedisError(new Error("ERR unknown command"), "x").code).toBe("TF_REDIS_COMMAND");
  expect(toRedisError("odd", "x").message).toBe("redis: x failed: odd");
});
