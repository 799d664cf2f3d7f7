/**
 * The `web` bundle's entry: the sample agent run as its `web` process type. A bytecode bundle is
 * CommonJS (Bun compiles ES-module bytecode only into an executable), so the entry cannot await at
 * the top level as apps/agent/src/main.ts does; `run()` never resolves anyway, it exits the process.
 */
import { agentApp } from "../../apps/agent/src/app.ts";

void agentApp().run({ argv: ["web"] });
