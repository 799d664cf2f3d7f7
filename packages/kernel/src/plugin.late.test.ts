import { expect, test } from "bun:test";
import { createApp } from "./app.ts";
import { definePlugin } from "./plugin.ts";
import { token } from "./token.ts";

const Routes = token<string[]>("test/Routes");
const Meter = token<{ name: string }>("test/Meter");

test("a late token adds no start-order edge and is found once the app is ready", async () => {
  let lookup: (() => { name: string } | undefined) | undefined;
  const started: string[] = [];
  const web = definePlugin({
    name: "web",
    late: [Meter],
    provides: [Routes],
    start({ find, provide }) {
      started.push("web");
      expect(find(Meter)).toBeUndefined();
      lookup = () => find(Meter);
      provide(Routes, []);
    },
  });
  const metrics = definePlugin({
    name: "metrics",
    optional: [Routes],
    provides: [Meter],
    start({ find, provide }) {
      started.push("metrics");
      find(Routes)?.push("/metrics");
      provide(Meter, { name: "meter" });
    },
  });
  const app = createApp({ name: "t", plugins: [metrics, web], env: {}, log: () => {} });
  await app.start();
  expect(started).toEqual(["web", "metrics"]);
  expect(app.get(Routes)).toEqual(["/metrics"]);
  expect(lookup?.()).toEqual({ name: "meter" });
  await app.stop();
});
