/** A redis-server of a test's own, on a free port, for tests that stop or restart the server. */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** A running redis-server; `stop()` ends it, `start()` starts it again on the same port and data folder. */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  /** SIGTERM: the server writes its append-only file and exits. */
  stop(): Promise<void>;
  /** Stops the server and removes its data folder. */
  [Symbol.asyncDispose](): Promise<void>;
}

async function answers(port: number): Promise<boolean> {
  const probe = Bun.spawn(["redis-cli", "-p", String(port), "ping"], { stdout: "pipe", stderr: "ignore" });
  return (await new Response(probe.stdout).text()).trim() === "PONG";
}

/**
 * Starts `redis-server` on a free port. With `durable`, it keeps an append-only file (fsync on
 * every write), so a restart loses nothing that was acknowledged.
 */
export async function ownRedis(options: { durable?: boolean; args?: readonly string[] } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "tf-redis-"));
  const persistence = options.durable
    ? ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
    : ["--appendonly", "no", "--save", ""];
  let server: ReturnType<typeof Bun.spawn> | undefined;
  const own: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      server = Bun.spawn(
        [
          "redis-server",
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          dir,
          ...persistence,
          ...(options.args ?? []),
        ],
        { stdout: "ignore", stderr: "inherit" },
      );
      for (let i = 0; i < 200 && !(await answers(port)); i++) await Bun.sleep(25);
    },
    async stop() {
      if (server === undefined) return;
      server.kill("SIGTERM");
      await server.exited;
      server = undefined;
    },
    async [Symbol.asyncDispose]() {
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}
