/**
 * Gate for tests that need a real backing service. Locally, without the server, the suite is
 * skipped with a one-line reason; under CI=true a missing server is a failure, never a skip.
 */
import { connect } from "node:net";

/** True when something accepts TCP connections on host:port within 500 ms. */
export function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Resolves to true when the service answers. When it does not: under CI=true throws (the test
 * file fails), otherwise prints one line saying why and resolves to false (use with describe.if).
 */
export async function requireService(name: string, url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const ok = await reachable(hostname, Number(port));
  if (ok) return true;
  if (process.env.CI === "true") throw new Error(`${name} is not answering at ${hostname}:${port}, and CI=true`);
  console.warn(`skip: ${name} is not answering at ${hostname}:${port}`);
  return false;
}
