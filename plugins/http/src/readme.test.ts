import { expect, test } from "bun:test";
import { documentedSettings, expectedSettings, listedSettings } from "../../../test/readme.ts";
import { httpConfig } from "./config.ts";
import { managementConfig } from "./management.ts";

test("the README's settings table lists every http and management setting with its default, and nothing else", async () => {
  const rows = await documentedSettings(new URL("../README.md", import.meta.url));
  expect(listedSettings(rows)).toEqual(
    expectedSettings({ ...httpConfig.shape("development"), ...managementConfig.shape("development") }),
  );
});
