import { describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunRuntime } from "./bun.ts";
import { detectRuntime } from "./detect.ts";
import { nodeRuntime } from "./node.ts";
import { boundedLineWriter, type LineSink, STDOUT_HIGH_WATER, sinkLineWriter } from "./stdout.ts";

describe.each([
  ["bun", bunRuntime],
  ["node", nodeRuntime],
])("%s runtime", (_name, make) => {
  const runtime = make();

  test("reads a file, and reports a missing one as undefined", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tf-runtime-"));
    try {
      await writeFile(join(dir, ".env"), "A=1\n");
      expect(await runtime.readTextFile(join(dir, ".env"))).toBe("A=1\n");
      expect(await runtime.readTextFile(join(dir, ".env.missing"))).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("env is a snapshot of the process environment", () => {
    expect(runtime.env().PATH).toBe(process.env.PATH);
  });

  test("args are the command line after the script; writeErrorLine writes a line to stderr", () => {
    expect(runtime.args?.()).toEqual(process.argv.slice(2));
    const written: string[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    try {
      runtime.writeErrorLine?.("admin: unknown command");
    } finally {
      process.stderr.write = original;
    }
    expect(written).toEqual(["admin: unknown command\n"]);
  });

  test("signal handlers are called and can be removed", () => {
    let calls = 0;
    const off = runtime.onSignal("SIGINT", () => calls++);
    process.emit("SIGINT");
    off();
    process.emit("SIGINT" as never);
    expect(calls).toBe(1);
  });

  test("fatal handlers see uncaught exceptions and unhandled rejections", () => {
    const seen: string[] = [];
    const off = runtime.onFatal((error, kind) => seen.push(`${kind}: ${(error as Error).message}`));
    process.emit("uncaughtException", new Error("thrown"));
    process.emit("unhandledRejection", new Error("rejected"), Promise.resolve());
    off();
    expect(seen).toEqual(["uncaughtException: thrown", "unhandledRejection: rejected"]);
  });

  test("serves fetch-style handlers on a port and stops", async () => {
    const server = await runtime.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request, info) =>
        new Response(`${request.method} ${new URL(request.url).pathname} from ${info.remoteAddress}`),
    });
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/hello`);
      expect(await response.text()).toBe("GET /hello from 127.0.0.1");
    } finally {
      await server.stop({ force: true });
    }
    await expect(fetch(`http://127.0.0.1:${server.port}/hello`)).rejects.toThrow();
  });

  test("a handler that throws or rejects is a 500 that shows nothing of the error; onError sees it", async () => {
    const seen: string[] = [];
    const fail = (request: Request): Response | Promise<Response> => {
      const error = new Error("db password=hunter2 refused");
      if (new URL(request.url).pathname === "/reject") return Promise.reject(error);
      throw error;
    };
    const bare = await runtime.serve({ port: 0, hostname: "127.0.0.1", fetch: fail });
    const handled = await runtime.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: fail,
      onError: (error) => {
        seen.push((error as Error).message);
        return new Response("handled", { status: 500 });
      },
    });
    try {
      for (const path of ["/throw", "/reject"]) {
        const plain = await fetch(`http://127.0.0.1:${bare.port}${path}`);
        expect(plain.status).toBe(500);
        expect(await plain.text()).not.toContain("hunter2");
        const answered = await fetch(`http://127.0.0.1:${handled.port}${path}`);
        expect([answered.status, await answered.text()]).toEqual([500, "handled"]);
      }
      expect(seen).toEqual(["db password=hunter2 refused", "db password=hunter2 refused"]);
    } finally {
      await bare.stop({ force: true });
      await handled.stop({ force: true });
    }
  });

  test("the clock is monotonic", () => {
    const a = runtime.now();
    expect(runtime.now()).toBeGreaterThanOrEqual(a);
  });
});

test("detectRuntime picks Bun under Bun, once", () => {
  expect(detectRuntime().name).toBe("bun");
  expect(detectRuntime()).toBe(detectRuntime());
});

describe("boundedLineWriter", () => {
  /** A stream whose reader never reads until `drain()` is called. */
  class StalledStream extends EventEmitter {
    writableLength = 0;
    written: string[] = [];
    write(chunk: string): boolean {
      this.written.push(chunk);
      this.writableLength += chunk.length;
      return this.writableLength < STDOUT_HIGH_WATER;
    }
    drain(): void {
      this.writableLength = 0;
      this.emit("drain");
    }
  }

  test("drops lines while the reader is behind, then reports how many were dropped", async () => {
    const stream = new StalledStream();
    const writeLine = boundedLineWriter(stream);
    const line = "x".repeat(1024);
    let dropped = 0;
    for (let i = 0; i < 20_000; i++) if (!writeLine(line)) dropped++;
    // The queue stops growing at the high-water mark instead of holding all 20 MB.
    expect(stream.writableLength).toBeLessThanOrEqual(STDOUT_HIGH_WATER + line.length + 1);
    expect(dropped).toBeGreaterThan(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.written).toHaveLength(1);
    stream.drain();
    const report = JSON.parse(stream.written.at(-1) as string);
    expect(report).toMatchObject({ level: "warn", dropped });
    expect(writeLine("after")).toBe(true);
  });

  test("lines of one turn of the event loop go out as one write; flush writes at once", async () => {
    const stream = new StalledStream();
    const writeLine = boundedLineWriter(stream);
    writeLine("one");
    writeLine("two");
    expect(stream.written).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.written).toEqual(["one\ntwo\n"]);
    writeLine("three");
    writeLine.flush();
    expect(stream.written).toEqual(["one\ntwo\n", "three\n"]);
  });

  test("a reader that goes away (EPIPE) is not an uncaught error", () => {
    const stream = new StalledStream();
    boundedLineWriter(stream);
    expect(() => stream.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))).not.toThrow();
  });
});

describe("sinkLineWriter (Bun's native stdout)", () => {
  /** A sink whose reader is behind until `catchUp()`; `gone` makes writes fail as EPIPE does. */
  function stalledSink() {
    const written: string[] = [];
    let release: (() => void) | undefined;
    const state = { behind: false, gone: false };
    const sink: LineSink = {
      write(chunk) {
        if (state.gone) throw Object.assign(new Error("EPIPE: broken pipe, write"), { code: "EPIPE" });
        written.push(chunk);
      },
      flush() {
        if (!state.behind) return 0;
        return new Promise<number>((resolve) => {
          release = () => resolve(0);
        });
      },
    };
    const catchUp = async () => {
      state.behind = false;
      release?.();
      await new Promise((resolve) => setImmediate(resolve));
    };
    return { sink, written, state, catchUp };
  }
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  test("lines of one turn go out as one write, in order, and flush() writes what is left at once", async () => {
    const { sink, written } = stalledSink();
    const writeLine = sinkLineWriter(sink);
    writeLine("one");
    writeLine("two");
    expect(written).toEqual([]);
    await turn();
    expect(written).toEqual(["one\ntwo\n"]);
    writeLine("three");
    writeLine.flush();
    expect(written).toEqual(["one\ntwo\n", "three\n"]);
  });

  test("while the reader is behind, lines wait in order up to the bound, then drop; the drop is reported", async () => {
    const { sink, written, state, catchUp } = stalledSink();
    const writeLine = sinkLineWriter(sink);
    state.behind = true;
    writeLine("first");
    await turn();
    expect(written).toEqual(["first\n"]);
    const line = "x".repeat(1024);
    let dropped = 0;
    for (let i = 0; i < 20_000; i++) if (!writeLine(line)) dropped++;
    await turn();
    // Nothing more is handed over while a flush is pending, and what waits is capped.
    expect(written).toHaveLength(1);
    expect(dropped).toBeGreaterThan(0);
    expect(20_000 - dropped).toBeLessThanOrEqual(STDOUT_HIGH_WATER / line.length + 1);
    await catchUp();
    expect(written).toHaveLength(2);
    const [report, ...rest] = (written[1] as string).split("\n");
    expect(JSON.parse(report as string)).toMatchObject({ level: "warn", dropped });
    expect(rest.filter((l) => l === line)).toHaveLength(20_000 - dropped);
  });

  test("a reader that went away (EPIPE) makes lines a no-op, never a throw", async () => {
    const { sink, state, written } = stalledSink();
    const writeLine = sinkLineWriter(sink);
    state.gone = true;
    expect(writeLine("lost")).toBe(true);
    await turn();
    expect(writeLine("after")).toBe(false);
    expect(() => writeLine.flush()).not.toThrow();
    expect(written).toEqual([]);
  });
});

test("Bun's backstop while a handler runs: the request timeout plus slack, none past Bun's 255 s cap or when off", async () => {
  const { backstopSeconds } = await import("./bun.ts");
  expect(backstopSeconds(30_000)).toBe(38);
  expect(backstopSeconds(1)).toBe(9);
  expect(backstopSeconds(0)).toBe(0);
  expect(backstopSeconds(undefined)).toBe(0);
  expect(backstopSeconds(600_000)).toBe(0);
});
