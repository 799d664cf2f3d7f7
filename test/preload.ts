// Shared test set-up, loaded by bunfig.toml before every test file.
// Tests that need PostgreSQL or Redis use `requireService` from test/services.ts.
import { setDefaultTimeout } from "bun:test";

// Bun's default of 5 s per test is too short for a test that spawns a process (promtool, a fixture
// app) while other suites share the machine's two cores: promtool's rule tests take 1.2 s on a quiet
// machine and went past 5 s under load. A generous bound still fails a test that hangs.
setDefaultTimeout(30_000);
