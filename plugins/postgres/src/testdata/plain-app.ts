// The postgres plugin alone in a real process, configured by the environment, for the exit-code tests.
import { createApp } from "@twelvefold/kernel";
import { postgres } from "../../mod.ts";
import * as schema from "./schema.ts";

await createApp({
  name: "plain-app",
  plugins: [postgres({ schema, migrations: new URL("./migrations", import.meta.url) })],
}).run();
