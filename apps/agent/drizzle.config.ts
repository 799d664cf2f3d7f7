/**
 * drizzle-kit's settings: from `apps/agent`, `bunx drizzle-kit generate --name <what-changed>`
 * writes the next migration into `migrations/` from `src/db/schema.ts`; commit both. The app
 * applies them with `bun run admin migrate` (and at start in development and testing).
 */
import { defineConfig } from "drizzle-kit";

// biome-ignore lint/style/noDefaultExport: drizzle-kit reads its settings from the default export
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
