-- A data migration: if a run applied it twice, the audit table would hold two rows.
INSERT INTO "audit" ("kind") VALUES ('seeded');
