import { expect, test } from "bun:test";
import { documentedSettings, expectedSettings, listedSettings } from "../../../test/readme.ts";
import { metricsConfig } from "./config.ts";

test("the README's settings table lists every metrics setting with its default, and nothing else", async () => {
  const rows = await documentedSettings(new URL("../README.md", import.meta.url));
  expect(listedSettings(rows)).toEqual(expectedSettings(metricsConfig.shape("development")));
});
