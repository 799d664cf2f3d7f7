import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { amcheck } from "@electric-sql/pglite/contrib/amcheck";
import { testApp } from "@twelvefold/testing";
import { sql } from "drizzle-orm";
import { Database, DatabaseError, postgres } from "../mod.ts";
import * as schema from "./testdata/schema.ts";

const migrations = new URL("./testdata/migrations", import.meta.url);
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A data folder path inside a fresh temp folder (the data folder itself does not exist yet). */
function dataDir(): string {
  const parent = mkdtempSync(join(tmpdir(), "tf-pglite-"));
  folders.push(parent);
  return join(parent, "pglite");
}

function app(folder: string) {
  return testApp({ plugins: [postgres({ schema, migrations })], env: { PGLITE_DATA_DIR: folder } });
}

describe("PGlite in a data folder", () => {
  test("keeps the data across restarts, and locks the folder while it runs", async () => {
    const folder = dataDir();
    {
      await using t = await app(folder);
      await t.get(Database).drizzle.insert(schema.users).values({ email: "kept@example.com", name: "Kept" });
      expect(readFileSync(`${folder}.lock`, "utf8").trim()).toBe(String(process.pid));
      expect(t.logs.find((l) => l.message === "pglite opened")?.from).toBe("template");
    }
    expect(existsSync(`${folder}.lock`)).toBe(false);
    await using again = await app(folder);
    expect(again.logs.find((l) => l.message === "pglite opened")?.from).toBe("folder");
    const users = await again.get(Database).drizzle.select({ email: schema.users.email }).from(schema.users);
    expect(users).toEqual([{ email: "kept@example.com" }]);
  }, 30_000);

  test("two apps of one process share the folder's PGlite; it closes when the last one stops", async () => {
    const folder = dataDir();
    const first = await app(folder);
    const second = await app(folder);
    await first.get(Database).drizzle.insert(schema.users).values({ email: "shared@example.com", name: "S" });
    expect(await second.get(Database).drizzle.select().from(schema.users)).toHaveLength(1);
    await first.stop();
    expect(await second.get(Database).rows(sql`select 1 as ok`)).toEqual([{ ok: 1 }]);
    expect(existsSync(`${folder}.lock`)).toBe(true);
    await second.stop();
    expect(existsSync(`${folder}.lock`)).toBe(false);
  }, 30_000);

  test("a folder another live process holds is refused, naming the folder and the process", async () => {
    const folder = dataDir();
    writeFileSync(`${folder}.lock`, `${process.ppid}\n`);
    const t = await app(folder).catch((e: unknown) => e);
    expect((t as Error).message).toBe(
      `postgres: start failed: the PGlite folder ${JSON.stringify(folder)} is in use by process ${process.ppid}: stop it first, or set DATABASE_URL to share a PostgreSQL server`,
    );
    expect((t as { cause?: unknown }).cause).toBeInstanceOf(DatabaseError);
    // The other process's lock is left alone.
    expect(readFileSync(`${folder}.lock`, "utf8").trim()).toBe(String(process.ppid));
  });

  test("a lock left by a process that is gone is taken over", async () => {
    const folder = dataDir();
    writeFileSync(`${folder}.lock`, "2147483646\n");
    await using t = await app(folder);
    expect(t.get(Database).driver).toBe("pglite");
    expect(readFileSync(`${folder}.lock`, "utf8").trim()).toBe(String(process.pid));
  }, 30_000);

  test("SIGTERM during writes: the process exits 0 and the folder holds every committed row, consistent", async () => {
    const folder = dataDir();
    const child = Bun.spawn(["bun", fileURLToPath(new URL("./testdata/writer-app.ts", import.meta.url))], {
      env: {
        PATH: process.env.PATH ?? "",
        ENVIRONMENT: "development",
        LOG_FORMAT: "json",
        LOG_LEVEL: "info",
        PGLITE_DATA_DIR: folder,
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const committed: number[] = [];
    const decoder = new TextDecoder();
    const reader = child.stdout.getReader();
    let buffer = "";
    let signalled = false;
    try {
      // Reads to the end: the rows committed while stopping are printed after the signal.
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        for (const line of lines) if (line.startsWith("committed ")) committed.push(Number(line.slice(10)));
        // Mid-stream: the writer is inside its next transaction when the signal lands.
        if (!signalled && committed.length >= 40) {
          signalled = true;
          child.kill("SIGTERM");
        }
      }
      expect({ code: await child.exited, stderr: await new Response(child.stderr).text() }).toEqual({
        code: 0,
        stderr: "",
      });
    } finally {
      child.kill("SIGKILL");
    }
    expect(signalled).toBe(true);
    expect(existsSync(`${folder}.lock`)).toBe(false);

    // Reopened as it was left: every committed row is there, and no other; amcheck finds the
    // indexes and the heap consistent.
    const pg = await PGlite.create({ dataDir: folder, extensions: { amcheck } });
    try {
      const ids = (await pg.query<{ id: number }>("select id from notes order by id")).rows.map((r) => r.id);
      expect(ids).toEqual(committed);
      const [user] = (await pg.query<{ name: string }>("select name from users")).rows;
      expect(user?.name).toBe(`W${committed.length - 1}`);
      await pg.exec("create extension amcheck");
      for (const index of ["notes_pkey", "users_pkey", "users_email_unique"]) {
        // heapallindexed: every heap tuple has its index entry.
        await pg.query("select bt_index_check($1::regclass, true)", [index]);
      }
      const heap = await pg.query("select * from verify_heapam('notes')");
      expect(heap.rows).toEqual([]);
    } finally {
      await pg.close();
    }
  }, 60_000);
});
