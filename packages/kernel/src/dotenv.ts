/**
 * Parses the `.env` format: `KEY=value` lines, `export ` prefixes, `#` comments, single quotes
 * (literal), double quotes (with `\n`, `\t`, `\"`, `\\` escapes, and may span lines), backticks.
 * Written here rather than taken from `dotenv` because that package is CommonJS and reads files
 * through `node:fs`, which the runtime-agnostic core may not import; parsing is the only part needed.
 *
 * @example
 * ```ts
 * parseDotenv("PORT=8080\nSECRET_KEY='a b'") // { PORT: "8080", SECRET_KEY: "a b" }
 * ```
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const line = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*/;
  let rest = text.replace(/\r\n?/g, "\n");
  while (rest.length > 0) {
    const match = line.exec(rest);
    if (!match) {
      const next = rest.indexOf("\n");
      rest = next === -1 ? "" : rest.slice(next + 1);
      continue;
    }
    const key = match[1] as string;
    rest = rest.slice(match[0].length);
    const quote = rest[0];
    if (quote === '"' || quote === "'" || quote === "`") {
      const end = findClosingQuote(rest, quote);
      if (end !== -1) {
        const raw = rest.slice(1, end);
        out[key] = quote === '"' ? unescapeDouble(raw) : raw;
        const next = rest.indexOf("\n", end);
        rest = next === -1 ? "" : rest.slice(next + 1);
        continue;
      }
    }
    const next = rest.indexOf("\n");
    const raw = next === -1 ? rest : rest.slice(0, next);
    rest = next === -1 ? "" : rest.slice(next + 1);
    out[key] = raw.replace(/\s+#.*$/, "").trim();
  }
  return out;
}

function findClosingQuote(text: string, quote: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === "\\" && quote === '"') i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

function unescapeDouble(raw: string): string {
  return raw.replace(/\\([nrt"\\])/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c));
}
