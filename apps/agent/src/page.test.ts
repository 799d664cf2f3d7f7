import { beforeAll, expect, test } from "bun:test";
import { http } from "@twelvefold/http";
import { testApp } from "@twelvefold/testing";
import { testDatabase } from "./db/testdata/database.ts";
import { page } from "./page.ts";
import { bootAgent } from "./testdata/app.ts";

beforeAll(() => testDatabase(), 180_000);

test("GET / is the chat page under the CSP, its script and style are files of their own, and an ETag makes a 304", async () => {
  await using t = await bootAgent({ process: "web" });
  const html = await t.fetch("/");
  expect(html.status).toBe(200);
  expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
  expect(html.headers.get("content-security-policy")).toContain("default-src 'self'");
  const text = await html.text();
  // Nothing inline: every script has a src, there is no style element or attribute, no inline handler.
  expect(text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  expect(text).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  // Every form control has a label naming it.
  for (const [, id] of text.matchAll(/<(?:input|textarea|select)[^>]*\sid="([^"]+)"/g)) {
    expect(text).toContain(`for="${id}"`);
  }
  for (const [path, type] of [
    ["/chat.js", "text/javascript; charset=utf-8"],
    ["/chat.css", "text/css; charset=utf-8"],
  ] as const) {
    const response = await t.fetch(path);
    expect(response.headers.get("content-type")).toBe(type);
    const etag = response.headers.get("etag") as string;
    expect((await t.fetch(path, { headers: { "if-none-match": etag } })).status).toBe(304);
  }
});

test("a page folder without the files fails the start, naming the missing file", async () => {
  const t = await testApp({
    plugins: [http(), page({ dir: new URL("file:///nowhere/") })],
    process: "web",
    start: false,
  });
  const error = await t.start().catch((e: unknown) => e);
  await t.stop();
  expect(String(error)).toContain('the chat page\'s file "/nowhere/index.html" is missing');
});
