import { expect, test } from "bun:test";
import { documentedSettings, expectedSettings, listedSettings } from "../../../test/readme.ts";
import { otelConfig } from "./config.ts";

test("the README's settings table lists every otel setting with its default, and nothing else", async () => {
  const rows = await documentedSettings(new URL("../README.md", import.meta.url));
  expect(listedSettings(rows)).toEqual(expectedSettings(otelConfig.shape("development")));
});
