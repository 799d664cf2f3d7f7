import { expect, test } from "bun:test";
import { testApp } from "@twelvefold/testing";
import { embeddedDatabase } from "./embedded.ts";

test("a data folder PGlite cannot open fails the start, and a later start tries again", async () => {
  const env = { PGLITE_DATA_DIR: "/proc/twelvefold-cannot-write-here" };
  for (let attempt = 0; attempt < 2; attempt++) {
    const t = await testApp({ plugins: [embeddedDatabase()], env, process: "admin", start: false });
    const error = await t.start().catch((e: unknown) => e);
    await t.stop();
    expect(error).toBeInstanceOf(Error);
  }
});
