import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { getTableConfig } from "drizzle-orm/pg-core";
import { MIGRATIONS } from "./database.ts";
import * as schema from "./schema.ts";

test("messages and idempotency keys go with their session; runs outlive it, so their usage can still be rolled up", () => {
  const onDelete = (table: Parameters<typeof getTableConfig>[0]) =>
    getTableConfig(table).foreignKeys.map((fk) => [getTableConfig(fk.reference().foreignTable).name, fk.onDelete]);
  expect(onDelete(schema.messages)).toEqual([["sessions", "cascade"]]);
  expect(onDelete(schema.idempotencyKeys)).toEqual([["sessions", "cascade"]]);
  expect(onDelete(schema.runs)).toEqual([["sessions", "set null"]]);
});

test("every table of the schema is created by a committed migration", async () => {
  const sql = readdirSync(MIGRATIONS)
    .filter((file) => file.endsWith(".sql"))
    .map((file) => Bun.file(new URL(file, `${MIGRATIONS.href}/`)).text());
  const text = (await Promise.all(sql)).join("\n");
  const tables = Object.values(schema).map(
    (table) => getTableConfig(table as Parameters<typeof getTableConfig>[0]).name,
  );
  for (const name of tables) expect(text).toContain(`CREATE TABLE "${name}"`);
});
