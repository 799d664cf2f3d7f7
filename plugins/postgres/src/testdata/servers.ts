/**
 * PostgreSQL for the plugin's tests: a fresh database per test file on the shared server
 * (127.0.0.1:5432, trust auth), dropped afterwards, and, for the fault tests, a server of their
 * own (initdb + pg_ctl into a temp folder, password authentication) they may stop and start.
 */
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgresJs from "postgres";

/** The shared server's admin URL (trust auth). */
export const SHARED_URL = "postgres://postgres@127.0.0.1:5432/test";

/** A database of the shared server, made for one test file. */
export interface FreshDatabase {
  readonly name: string;
  /** Its URL, with a password that trust auth ignores, so tests can look for it in messages. */
  readonly url: string;
  create(): Promise<void>;
  /** Drops it, ending whatever sessions are left on it (only ever this database's). */
  drop(): Promise<void>;
}

/** A name and URL now (tests register with them), created and dropped by the caller's hooks. */
export function freshDatabase(label: string): FreshDatabase {
  const name = `tf_${label}_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const admin = new URL(SHARED_URL);
  const url = new URL(SHARED_URL);
  url.pathname = `/${name}`;
  url.password = "not-the-password-9f2c";
  return {
    name,
    url: url.toString(),
    async create() {
      const sql = postgresJs(admin.toString(), { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`create database "${name}"`);
      } finally {
        await sql.end();
      }
    },
    async drop() {
      const sql = postgresJs(admin.toString(), { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await sql.end();
      }
    },
  };
}

/** The newest PostgreSQL installed (Debian puts each major version's binaries in its own folder). */
const BIN = (() => {
  try {
    const versions = readdirSync("/usr/lib/postgresql", { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && /^\d+$/.test(entry.name))
      .map((entry) => Number(entry.name))
      .sort((a, b) => b - a);
    return `/usr/lib/postgresql/${versions[0] ?? 15}/bin`;
  } catch {
    return "/usr/lib/postgresql/15/bin";
  }
})();

/** A PostgreSQL server of a test's own, with password authentication. */
export interface OwnServer {
  readonly port: number;
  readonly password: string;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  start(): Promise<void>;
  /** Stops it (fast mode: sessions are terminated, as in a failover). */
  stop(): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

async function run(command: string[]): Promise<void> {
  // initdb and postgres refuse to run as root: drop to the postgres user when root.
  const asRoot = process.getuid?.() === 0;
  const argv = asRoot ? ["runuser", "-u", "postgres", "--", ...command] : command;
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const code = await child.exited;
  if (code !== 0) {
    const output = `${await new Response(child.stdout).text()}${await new Response(child.stderr).text()}`;
    throw new Error(`${command[0]} exited ${code}: ${output}`);
  }
}

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/**
 * Initialises a server in a temp folder (about 1.5 s); call `start()` to run it. With `tls`, it
 * also accepts TLS, with a self-signed certificate for "localhost".
 */
export async function ownServer(options: { tls?: boolean } = {}): Promise<OwnServer> {
  const folder = mkdtempSync(join(tmpdir(), "tf-pg-"));
  const data = join(folder, "data");
  const password = `pw-${crypto.randomUUID().slice(0, 12)}`;
  writeFileSync(join(folder, "pw"), password);
  chmodSync(folder, 0o700);
  if (process.getuid?.() === 0) {
    // The server runs as the postgres user, which must own its folder.
    const { uid, gid } = await lookupPostgresUser();
    chownSync(folder, uid, gid);
    chownSync(join(folder, "pw"), uid, gid);
  }
  await run([
    `${BIN}/initdb`,
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=scram-sha-256",
    `--pwfile=${join(folder, "pw")}`,
    "-E",
    "UTF8",
  ]);
  const port = freePort();
  const ssl = options.tls ? await selfSignedCertificate(folder) : "";
  const ctl = (...args: string[]) => run([`${BIN}/pg_ctl`, "-D", data, ...args]);
  let running = false;
  const server: OwnServer = {
    port,
    password,
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async start() {
      await ctl(
        "-o",
        `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1${ssl}`,
        "-l",
        join(folder, "log"),
        "-w",
        "start",
      );
      running = true;
    },
    async stop() {
      if (!running) return;
      await ctl("-m", "fast", "-w", "stop");
      running = false;
    },
    async remove() {
      await server.stop().catch(() => {});
      rmSync(folder, { recursive: true, force: true });
    },
  };
  return server;
}

/** Makes a self-signed certificate for "localhost" in `folder`; returns the server options that use it. */
async function selfSignedCertificate(folder: string): Promise<string> {
  const cert = join(folder, "server.crt");
  const key = join(folder, "server.key");
  const made = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"].concat([
      "-keyout",
      key,
      "-out",
      cert,
    ]),
    { stdout: "ignore", stderr: "pipe" },
  );
  if (!made.success) throw new Error(`openssl failed: ${made.stderr.toString()}`);
  chmodSync(key, 0o600);
  if (process.getuid?.() === 0) {
    const { uid, gid } = await lookupPostgresUser();
    chownSync(cert, uid, gid);
    chownSync(key, uid, gid);
  }
  return ` -c ssl=on -c ssl_cert_file=${cert} -c ssl_key_file=${key}`;
}

async function lookupPostgresUser(): Promise<{ uid: number; gid: number }> {
  const passwd = await Bun.file("/etc/passwd").text();
  const line = passwd.split("\n").find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (!uid || !gid) throw new Error("no postgres user to run a test server as");
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Opens the test process's shared in-memory PGlite once, in a `beforeAll` with a budget of its own:
 * the first open (from the template, or initdb when there is none yet) can take seconds on a busy
 * machine, more than a test's default 5 s. Later apps of the process join it at once.
 */
export async function warmPglite(): Promise<void> {
  const { testApp } = await import("@twelvefold/testing");
  const { postgres } = await import("../../mod.ts");
  const t = await testApp({ plugins: [postgres()] });
  await t.stop();
}
