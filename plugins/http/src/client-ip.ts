import ipaddr from "ipaddr.js";

type Address = ReturnType<typeof ipaddr.parse>;

/** Decides whether an address is one of the configured proxies. */
export type ProxyCheck = (address: string) => boolean;

/** The check when no proxy is trusted (the default): X-Forwarded-For is then never read. */
export const NO_TRUSTED_PROXY: ProxyCheck = () => false;

function parse(address: string): Address | undefined {
  // `process` folds IPv4-mapped IPv6 (::ffff:10.0.0.1), as dual-stack sockets report, into IPv4.
  return ipaddr.isValid(address) ? ipaddr.process(address) : undefined;
}

/**
 * Builds the trusted-proxy check from addresses and CIDR ranges (`10.0.0.0/8`, `::1`).
 * An invalid entry is a RangeError at start, not a silently ignored proxy.
 *
 * @example
 * ```ts
 * const trusted = trustedProxies(["10.0.0.0/8"]);
 * trusted("10.1.2.3"); // true
 * ```
 */
export function trustedProxies(entries: readonly string[]): ProxyCheck {
  const ranges: Array<[Address, number]> = entries.map((entry) => {
    if (ipaddr.isValidCIDR(entry)) {
      const [range, bits] = ipaddr.parseCIDR(entry);
      return range.kind() === "ipv6" && (range as ipaddr.IPv6).isIPv4MappedAddress()
        ? [(range as ipaddr.IPv6).toIPv4Address(), bits - 96]
        : [range, bits];
    }
    const address = parse(entry);
    if (!address) throw new RangeError(`http: invalid trusted proxy: "${entry}": expected an address or CIDR range`);
    return [address, address.kind() === "ipv4" ? 32 : 128];
  });
  if (ranges.length === 0) return NO_TRUSTED_PROXY;
  return (raw) => {
    const address = parse(raw);
    if (!address) return false;
    return ranges.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
  };
}

/** True for an address or a CIDR range, as TRUSTED_PROXIES takes them. */
export function isProxyEntry(entry: string): boolean {
  return ipaddr.isValidCIDR(entry) || parse(entry) !== undefined;
}

/**
 * The client's address: the socket peer unless the peer is a trusted proxy, in which case the
 * nearest hop of X-Forwarded-For that is not a trusted proxy (walking from the right, because
 * only the entries our own proxies appended can be believed).
 */
export function resolveClientIp(
  peer: string | undefined,
  forwardedFor: string | null,
  isTrusted: ProxyCheck,
): string | undefined {
  if (peer === undefined || forwardedFor === null || !isTrusted(peer)) return peer;
  const hops = forwardedFor.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = (hops[i] as string).trim();
    if (!isTrusted(hop)) return parse(hop) ? hop : peer;
  }
  return (hops[0] as string).trim() || peer;
}
