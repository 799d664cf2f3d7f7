/** What the benchmarks share: a free loopback port to serve on, and a process's CPU time so far. */
import { readFileSync } from "node:fs";

/** A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it; the probe is closed at once). */
export function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

/** User + system CPU ticks of a process (fields 14 and 15 of /proc/<pid>/stat; Linux only). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
