/**
 * The chat page: `GET /` is one HTML file, `GET /chat.css` and `GET /chat.js` its style and script
 * (and `GET /favicon.svg` its icon),
 * each a file of `apps/agent/public` (no build step, no framework). They are separate files, never
 * inline, so the page works under the http plugin's Content-Security-Policy (`default-src 'self'`).
 * They are read once, at start, through the runtime adapter; a request costs no file access.
 */
import { HttpApp } from "@twelvefold/http";
import { definePlugin, type Plugin } from "@twelvefold/kernel";

/** The page's files: request path, file name and content type. */
const FILES = [
  { path: "/", file: "index.html", type: "text/html; charset=utf-8" },
  { path: "/chat.css", file: "chat.css", type: "text/css; charset=utf-8" },
  { path: "/chat.js", file: "chat.js", type: "text/javascript; charset=utf-8" },
  { path: "/favicon.svg", file: "favicon.svg", type: "image/svg+xml" },
] as const;

/** Where the page's files are: `apps/agent/public`, beside `src`. A bundle ships the folder beside it. */
export const PUBLIC_DIR = new URL("../public/", import.meta.url);

/** The chat page plugin (web). `dir` is the folder of the files (default {@link PUBLIC_DIR}). */
export function page(options: { readonly dir?: URL } = {}): Plugin {
  const dir = options.dir ?? PUBLIC_DIR;
  return definePlugin({
    name: "page",
    processes: ["web"],
    requires: [HttpApp],
    async start({ get, runtime }) {
      const app = get(HttpApp);
      const loaded = await Promise.all(
        FILES.map(async (entry) => {
          const path = decodeURIComponent(new URL(entry.file, dir).pathname);
          const text = await runtime.readTextFile(path);
          if (text === undefined) throw new Error(`agent: the chat page's file ${JSON.stringify(path)} is missing`);
          const etag = `"${await digest(text)}"`;
          return { ...entry, text, etag };
        }),
      );
      for (const { path, text, type, etag } of loaded) {
        app.get(path, (c) => {
          if (c.req.header("if-none-match") === etag) return c.body(null, 304, { etag });
          // no-cache: revalidated each time (the ETag makes that a 304), so a deploy is seen at once.
          return c.body(text, 200, { "content-type": type, "cache-control": "no-cache", etag });
        });
      }
    },
  });
}

async function digest(text: string): Promise<string> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(bytes).slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
}
