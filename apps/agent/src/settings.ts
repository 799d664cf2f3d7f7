import { definePlugin, type Plugin } from "@twelvefold/kernel";
import { agentConfig, agentDefaults } from "./config.ts";
import { AgentSettings } from "./tokens.ts";

/**
 * The app's settings as a service, in every process type: validated with every plugin's at
 * start (a bad value is exit 78), and read by jobs through `get(AgentSettings)`, since a job
 * definition has no config of its own. It also adds the development signing key (config.ts).
 */
export function settings(): Plugin {
  return definePlugin({
    name: "settings",
    config: agentConfig,
    defaults: agentDefaults,
    provides: [AgentSettings],
    start({ config, provide }) {
      provide(AgentSettings, config);
    },
  });
}
