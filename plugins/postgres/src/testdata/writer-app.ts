// A real app on a PGlite folder (PGLITE_DATA_DIR) that writes as fast as it can until SIGTERM:
// each row in its own transaction, its id printed once committed. pglite-folder.test.ts stops it
// mid-write and checks the folder holds every printed row and nothing half-written.
import { createApp, definePlugin } from "@twelvefold/kernel";
import { sql } from "drizzle-orm";
import { Database, postgres } from "../../mod.ts";
import * as schema from "./schema.ts";

const writer = definePlugin({
  name: "writer",
  requires: [Database],
  start({ get, lifecycle, onDrain }) {
    const db = get(Database);
    let stopping = false;
    let loop: Promise<void> = Promise.resolve();
    onDrain(async () => {
      stopping = true;
      await loop;
    });
    const write = async () => {
      const [user] = await db.drizzle.insert(schema.users).values({ email: "w@example.com", name: "W" }).returning();
      for (let i = 0; !stopping; i++) {
        const id = await db.transaction(async (tx) => {
          const [note] = await tx
            .insert(schema.notes)
            .values({ userId: user!.id, body: `note ${i}`, data: { i, pad: "x".repeat(200) } })
            .returning({ id: schema.notes.id });
          await tx.execute(sql`update users set name = ${`W${i}`} where id = ${user!.id}`);
          return note!.id;
        });
        process.stdout.write(`committed ${id}\n`);
        // PGlite answers without a macrotask turn; a loop of writes alone would never let SIGTERM in.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const begin = () => {
      if (!lifecycle.ready) return void setTimeout(begin, 5);
      loop = lifecycle.track(write());
    };
    setTimeout(begin, 0);
  },
});

await createApp({
  name: "writer-app",
  plugins: [postgres({ schema, migrations: new URL("./migrations", import.meta.url) }), writer],
}).run();
