/**
 * The `admin` bundle's entry: the sample agent's one-off commands, `bun dist/admin.js <command> [args]`
 * (`migrate`, `config`, `help`). A bytecode bundle is CommonJS, so no top-level await (see web.ts).
 */
import { agentApp } from "../../apps/agent/src/app.ts";

void agentApp().run({ argv: ["admin", ...process.argv.slice(2)] });
