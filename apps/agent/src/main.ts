import { agentApp } from "./app.ts";

await agentApp().run();
