import { expect, test } from "bun:test";
import { normalizePath, validHost } from "./path.ts";

test("normalizePath decodes as the router does, collapses slashes and removes dot segments", () => {
  const cases: Array<[string, string]> = [
    ["http://x/a/b?q=1#f", "/a/b"],
    ["/livez", "/livez"],
    ["http://x", "/"],
    ["http://x?q", "/"],
    ["http://x/a//b/", "/a/b/"],
    ["http://x/a/../b", "/b"],
    ["http://x/%63hat/x", "/chat/x"],
    ["http://x/a/%2e%2e/b", "/b"],
    ["http://x/..", "/"],
    ["http://x/a/.", "/a/"],
    ["http://x/.well-known/x", "/.well-known/x"],
    // Reserved characters stay encoded: %2F never becomes a separator, %25 never a second escape.
    ["http://x/a%2Fb", "/a%2Fb"],
    ["http://x/%25", "/%25"],
    ["http://x/a%zz", "/a%zz"],
  ];
  for (const [url, path] of cases) expect([url, normalizePath(url)]).toEqual([url, path]);
});

test("validHost takes one host with an optional port, and nothing else", () => {
  for (const good of ["a", "api.example:8443", "127.0.0.1", "[::1]:80", "ex.com:", "xn--bcher-kva.example"]) {
    expect([good, validHost(good)]).toEqual([good, true]);
  }
  for (const bad of ["", "a b", "a, b", "a,b", "ex.com:99999", "[::1]x", "a%2", "a/b", "a@b"]) {
    expect([bad, validHost(bad)]).toEqual([bad, false]);
  }
});
