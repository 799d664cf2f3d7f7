import { expect, test } from "bun:test";
import { readFrames } from "../test/helpers.ts";
import { StreamEnded, sseResponse } from "./sse.ts";

test("a quiet stream gets keep-alive comments; its end is the source's end", async () => {
  let release = () => {};
  const response = sseResponse(
    async function* source() {
      yield { id: "1-0", data: '{"type":"text"}' };
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      yield { id: "2-0", data: '{"type":"done"}' };
    },
    { keepAliveMs: 100, retryMs: 1000 },
  );
  expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
  const frames = await readFrames(response, { onFrame: (frame) => frame.comment === "keep-alive" && release() });
  expect(frames).toEqual([
    { id: "1-0", event: { type: "text" } },
    { comment: "keep-alive" },
    { id: "2-0", event: { type: "done" } },
  ]);
});

test("a stream opened while the replica drains sends what the source has at once, then retry:", async () => {
  let stopped: unknown;
  const response = sseResponse(
    async function* source(signal) {
      yield { id: "1-0", data: '{"type":"text"}' };
      // As the event log's wait does: an aborted signal ends the wait at once.
      signal.throwIfAborted();
      stopped = "not stopped";
    },
    { keepAliveMs: 10_000, retryMs: 750, draining: AbortSignal.abort() },
  );
  const frames = await readFrames(response);
  expect(frames.at(-1)).toEqual({ retry: 750 });
  expect(stopped).toBeUndefined();
});

test("a client that goes away stops the source with StreamEnded", async () => {
  let reason: unknown;
  const response = sseResponse(
    async function* source(signal) {
      signal.addEventListener("abort", () => {
        reason = signal.reason;
      });
      for (let i = 0; ; i++) {
        yield { id: `${i}-0`, data: "{}" };
        await Bun.sleep(5);
      }
    },
    { keepAliveMs: 10_000, retryMs: 1000 },
  );
  await readFrames(response, { stopAfter: 2 });
  expect(reason).toBeInstanceOf(StreamEnded);
});
