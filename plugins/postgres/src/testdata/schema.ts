/**
 * The schema of the plugin's own tests: users with a unique email, and notes that reference them
 * (a foreign key) and carry jsonb, the shapes an app's sessions and messages take. Its migrations
 * are drizzle-kit's, committed: from plugins/postgres,
 * `bunx drizzle-kit generate --dialect postgresql --schema src/testdata/schema.ts --out src/testdata/migrations --name <name>`.
 */
import { relations } from "drizzle-orm";
import { integer, jsonb, pgTable, serial, text, timestamp } from "drizzle-orm/pg-core";

export const users = pgTable("users", {
  id: serial("id").primaryKey(),
  email: text("email").notNull().unique(),
  name: text("name").notNull(),
});

export const notes = pgTable("notes", {
  id: serial("id").primaryKey(),
  userId: integer("user_id")
    .notNull()
    .references(() => users.id),
  body: text("body").notNull(),
  data: jsonb("data").$type<Record<string, unknown>>(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const usersRelations = relations(users, ({ many }) => ({ notes: many(notes) }));
export const notesRelations = relations(notes, ({ one }) => ({
  user: one(users, { fields: [notes.userId], references: [users.id] }),
}));

/** Rows written by a data migration: one row per run would show a migration applied twice. */
export const audit = pgTable("audit", {
  id: serial("id").primaryKey(),
  kind: text("kind").notNull(),
});
