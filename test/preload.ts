// Shared test set-up, loaded by bunfig.toml before every test file.
// Tests that need PostgreSQL or Redis use `requireService` from test/services.ts.
export {};
