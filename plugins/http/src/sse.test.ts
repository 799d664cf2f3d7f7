import { describe, expect, test } from "bun:test";
import { definePlugin } from "@twelvefold/kernel";
import { startApp } from "../test/start.ts";
import { HttpApp } from "./plugin.ts";
import { type EventSource, eventStream, formatEvent, type ServerEvent } from "./sse.ts";

describe("formatEvent", () => {
  test("writes id, event and one data line per line; anything but a string as JSON", () => {
    expect(formatEvent({ id: "7", event: "token", data: "a\nb\r\nc" })).toBe(
      "id: 7\nevent: token\ndata: a\ndata: b\ndata: c\n\n",
    );
    expect(formatEvent({ data: { text: "hi" } })).toBe('data: {"text":"hi"}\n\n');
  });

  test("refuses an id or event name that would break its line", () => {
    expect(() => formatEvent({ id: "1\nevent: forged", data: "x" })).toThrow(TypeError);
    expect(() => formatEvent({ event: "a\rb", data: "x" })).toThrow("must be one line");
  });
});

/** An app whose `/events` streams from `source`. */
function streaming(source: () => EventSource) {
  return definePlugin({
    name: "streaming",
    requires: [HttpApp],
    start({ get }) {
      get(HttpApp).get("/events", (c) => eventStream(c, source()));
    },
  });
}

async function* three(): AsyncIterable<ServerEvent> {
  for (const id of ["1", "2", "3"]) yield { id, data: `event ${id}` };
}

describe("eventStream", () => {
  test("an async iterable's events go out in order with their ids, and the stream ends with it", async () => {
    await using t = await startApp([streaming(() => three())]);
    const response = await t.fetch("/events");
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.text()).toBe("id: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\nid: 3\ndata: event 3\n\n");
    expect(t.logs.find((l) => l.message === "request")).toMatchObject({ route: "/events", status: 200 });
  });

  test("a client that goes away aborts the stream's signal, so the producer stops", async () => {
    const { promise: stopped, resolve: stop } = Promise.withResolvers<unknown>();
    await using t = await startApp([
      streaming(() => async (stream) => {
        await stream.send({ data: "first" });
        await new Promise((resolve) => stream.signal.addEventListener("abort", resolve));
        stop(stream.signal.reason);
      }),
    ]);
    const leave = new AbortController();
    const response = await t.fetch("/events", { signal: leave.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: first\n\n");
    leave.abort();
    expect(((await stopped) as DOMException).name).toBe("AbortError");
  });

  test("a producer faster than its client waits for it rather than queueing without bound", async () => {
    let sent = 0;
    await using t = await startApp([
      streaming(() => async (stream) => {
        for (let i = 0; i < 200; i++) {
          await stream.send({ id: String(i), data: "x" });
          sent++;
        }
      }),
    ]);
    // In-process, without a socket's buffers between: what is queued is what the stream holds.
    const response = await t.handle("/events");
    await Bun.sleep(50);
    expect(sent).toBeLessThan(40);
    const text = await response.text();
    expect(sent).toBe(200);
    expect(text.split("\n\n").filter(Boolean)).toHaveLength(200);
  });

  test("a producer that throws ends the stream and is logged; the client keeps what it got", async () => {
    await using t = await startApp([
      streaming(() => async (stream) => {
        await stream.send({ id: "1", data: "ok" });
        throw new Error("event log unreachable");
      }),
    ]);
    const response = await t.fetch("/events");
    expect(await response.text()).toBe("id: 1\ndata: ok\n\n");
    const failed = t.logs.find((l) => l.message === "event stream failed") as { error: { message: string } };
    expect(failed.error.message).toBe("event log unreachable");
  });

  test("a stream still open at drain gets its onDrain event and a retry hint, then ends", async () => {
    const drainable = definePlugin({
      name: "drainable",
      requires: [HttpApp],
      start({ get }) {
        get(HttpApp).get("/events", (c) =>
          eventStream(
            c,
            async (stream) => {
              await stream.send({ id: "1", data: "started" });
              await new Promise((resolve) => stream.signal.addEventListener("abort", resolve));
            },
            { onDrain: (stream) => stream.send({ event: "drain", data: "bye" }) },
          ),
        );
      },
    });
    const t = await startApp([drainable]);
    const response = await t.fetch("/events");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await t.app.stop();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(rest).toBe("event: drain\ndata: bye\n\nretry: 1000\n\n");
    expect(t.logs.find((l) => l.message === "listener closed")?.streams_ended).toBe(1);
  });
});
