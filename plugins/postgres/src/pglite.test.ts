import { databaseSuite } from "./testdata/database-suite.ts";

// ENVIRONMENT=testing without DATABASE_URL: the process's shared in-memory PGlite, from the template.
databaseSuite("PGlite", { driver: "pglite", capabilities: [], env: () => ({}) });
