import { afterAll, beforeAll } from "bun:test";
import { requireService } from "../../../test/services.ts";
import { databaseSuite } from "./testdata/database-suite.ts";
import { freshDatabase, SHARED_URL } from "./testdata/servers.ts";

if (await requireService("PostgreSQL", SHARED_URL)) {
  const fresh = freshDatabase("suite");
  beforeAll(() => fresh.create());
  afterAll(() => fresh.drop());
  databaseSuite("PostgreSQL", {
    driver: "postgres",
    capabilities: ["sessions", "statementTimeout"],
    env: () => ({ DATABASE_URL: fresh.url, DATABASE_POOL_SIZE: "4" }),
  });
}
