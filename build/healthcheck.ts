/**
 * The container's HEALTHCHECK: 0 when this container's process answers 200 on /livez, else 1. One
 * image runs every process type, so it asks the web port (PORT, 8000) and the management port
 * (MANAGEMENT_PORT, 9000, where worker and scheduler serve their probes) and takes either.
 * Bundled into dist/healthcheck.js by the build; `bun dist/healthcheck.js`.
 */
const ports = [Bun.env.PORT ?? "8000", Bun.env.MANAGEMENT_PORT ?? "9000"];

async function live(port: string): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/livez`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

const answers = await Promise.all(ports.map(live));
process.exit(answers.some(Boolean) ? 0 : 1);

// A module, for the top-level await.
export {};
