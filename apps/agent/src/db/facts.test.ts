import { beforeAll, expect, test } from "bun:test";
import { Facts } from "./facts.ts";
import { owner, testDatabase } from "./testdata/database.ts";

// The first start of the shared PGlite runs initdb (seconds on a busy machine), once per test process.
beforeAll(() => testDatabase(), 180_000);

test("each user recalls their own facts, by a shared word, newest first, and a retried call keeps a fact once", async () => {
  const facts = new Facts(await testDatabase());
  const [ada, bob] = [owner("ada"), owner("bob")];
  await facts.remember(ada, "my cat is called Mochi", "run-1:0:0:remember");
  await facts.remember(ada, "my cat is called Mochi", "run-1:0:0:remember");
  await facts.remember(ada, "I live in Lisbon");
  await facts.remember(bob, "my cat is called Rex");
  expect(await facts.recall(ada, "what is my cat called?")).toEqual(["my cat is called Mochi"]);
  expect(await facts.recall(ada, "")).toEqual(["I live in Lisbon", "my cat is called Mochi"]);
  expect(await facts.recall(ada, "100%_ match")).toEqual([]);
  expect(await facts.recall(owner("nobody"), "cat")).toEqual([]);
});
