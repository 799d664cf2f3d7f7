CREATE TABLE "audit" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL
);
