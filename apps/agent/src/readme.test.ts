import { expect, test } from "bun:test";
import { documentedSettings, shownDefault } from "../../../test/readme.ts";
import { agentApp, agentPlugins } from "./app.ts";

test("the README's settings table lists every setting the app reads, in any process type, with its schema's default", async () => {
  const rows = await documentedSettings(new URL("../README.md", import.meta.url));
  const app = agentApp({ env: {} });
  const read = new Set<string>();
  for (const process of ["web", "worker", "scheduler", "admin"] as const) {
    for (const entry of await app.inspectConfig({ process })) read.add(entry.name);
  }
  expect([...rows.keys()].sort()).toEqual([...read].sort());
  // Defaults as the schemas have them (the kernel's own settings are checked by name above).
  for (const plugin of agentPlugins()) {
    for (const [name, schema] of Object.entries(plugin.configShape("development"))) {
      expect(`${name} ${rows.get(name)}`).toBe(`${name} ${shownDefault(schema)}`);
    }
  }
});
