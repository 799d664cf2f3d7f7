import { expect, test } from "bun:test";
import { resolveClientIp, trustedProxies } from "./client-ip.ts";

test("X-Forwarded-For is ignored unless the peer is a trusted proxy", () => {
  const none = trustedProxies([]);
  expect(resolveClientIp("203.0.113.9", "1.2.3.4", none)).toBe("203.0.113.9");
  const trusted = trustedProxies(["10.0.0.0/8", "::1"]);
  expect(resolveClientIp("203.0.113.9", "1.2.3.4", trusted)).toBe("203.0.113.9");
});

test("behind trusted proxies the nearest untrusted hop is the client, spoofed left entries ignored", () => {
  const trusted = trustedProxies(["10.0.0.0/8"]);
  expect(resolveClientIp("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.9", trusted)).toBe("198.51.100.7");
  expect(resolveClientIp("::ffff:10.0.0.2", "198.51.100.7", trusted)).toBe("198.51.100.7");
  expect(resolveClientIp("10.0.0.2", "not-an-ip", trusted)).toBe("10.0.0.2");
  expect(resolveClientIp("10.0.0.2", null, trusted)).toBe("10.0.0.2");
});

test("an invalid proxy entry is refused", () => {
  expect(() => trustedProxies(["10.0.0.0/99x"])).toThrow('invalid trusted proxy: "10.0.0.0/99x"');
});
