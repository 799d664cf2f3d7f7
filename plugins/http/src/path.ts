import { getPath } from "hono/utils/url";

/** Removes `.` and `..` segments and empty ones (`//`), keeping a trailing slash. */
function cleanSegments(path: string): string {
  const segments = path.split("/");
  const kept: string[] = [];
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const segment = segments[i] as string;
    if (segment === "..") kept.pop();
    else if (segment !== "" && segment !== ".") {
      kept.push(segment);
      continue;
    }
    if (i === last) kept.push("");
  }
  return `/${kept.join("/")}`;
}

/**
 * The one path every decision about a request is made on: routing, rate-limit policies, route
 * labels, CORS and authentication. Percent-decoded as Hono's router decodes it (reserved
 * characters such as `%2F` stay encoded, so they never become separators), with repeated slashes
 * collapsed and dot segments removed (`%2e%2e` included), so `/chat//x`, `/a/../chat/x` and
 * `/%63hat/x` are all `/chat/x`. Works on relative URLs too (a runtime hands one over for an
 * HTTP/1.0 request without Host). A plain path costs three scans and a slice.
 *
 * @example
 * ```ts
 * normalizePath("http://api.example/v1//chat/%2e%2e/sessions?x=1"); // "/v1/sessions"
 * ```
 */
export function normalizePath(url: string): string {
  let start = 0;
  if (url.charCodeAt(0) !== 47) {
    const scheme = url.indexOf("://");
    start = scheme < 0 ? -1 : url.indexOf("/", scheme + 3);
    if (start < 0) return "/";
  }
  // One pass to the query: a plain path (no "%", "//" or "/.") is a slice and nothing more.
  let encoded = false;
  let segments = false;
  let end = start + 1;
  for (let previous = 47; end < url.length; end++) {
    const code = url.charCodeAt(end);
    if (code === 63 || code === 35) break;
    if (code === 37) encoded = true;
    else if (previous === 47 && (code === 47 || code === 46)) segments = true;
    previous = code;
  }
  let path = url.slice(start, end);
  if (encoded) {
    path = getPath({ url: `http://h${path}` } as Request);
    segments ||= path.includes("//") || path.includes("/.");
  }
  return segments ? cleanSegments(path) : path;
}

/**
 * `uri-host [ ":" port ]` (RFC 9112 section 3.2, RFC 3986): a bracketed IP literal, or a
 * reg-name (which covers IPv4 addresses) of unreserved, percent-encoded and sub-delimiter
 * characters, and a port of at most five digits. A comma is refused although reg-name allows it:
 * it is what two Host lines merged into one look like, and no real host name has one.
 */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+;=]|%[0-9A-Fa-f]{2})+)(?::(\d{0,5}))?$/;

/**
 * Whether a Host field value is acceptable: one well-formed host, optionally with a port up to
 * 65535. Empty is refused (an `http` URI needs a host, RFC 9110 section 4.2.1), and so is a
 * repeated Host, which the runtimes hand over merged as `a, b`.
 *
 * @example
 * ```ts
 * validHost("api.example:8443"); // true
 * validHost("a, b"); // false
 * ```
 */
export function validHost(value: string): boolean {
  const match = HOST.exec(value);
  if (match === null) return false;
  const port = match[1];
  return port === undefined || port === "" || Number(port) <= 65_535;
}
