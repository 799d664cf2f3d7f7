/**
 * The sample agent's entry point, one for every process type: `bun apps/agent/src/main.ts web`
 * (or worker, scheduler, dev, `admin <command>`). Run it directly under a supervisor rather than
 * through `bun run`, which forwards SIGTERM to its child: a process-group SIGTERM would then
 * arrive twice, and the second one means "exit now".
 */
import { agentApp } from "./app.ts";

await agentApp().run();
