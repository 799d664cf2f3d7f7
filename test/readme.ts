/** Reading a plugin README's settings table, so a test can hold it to the plugin's config schema. */

/** The `| \`NAME\` | default | meaning |` rows under a README's "## Settings", by name. */
export async function documentedSettings(readme: URL): Promise<Map<string, string>> {
  const text = await Bun.file(readme).text();
  const settings = text.slice(text.indexOf("## Settings"));
  const rows = new Map<string, string>();
  for (const match of settings.matchAll(/^\| `([A-Z][A-Z0-9_]+)`\s*\|\s*([^|]+?)\s*\|/gm)) {
    rows.set(match[1] as string, match[2] as string);
  }
  return rows;
}

/** A schema's default as a README shows it: `value` in backticks, `empty`, or `unset`. */
export function shownDefault(schema: unknown): string {
  const fallback = (schema as { default?: unknown }).default;
  if (fallback === undefined) return "unset";
  return fallback === "" ? "empty" : `\`${String(fallback)}\``;
}

/** `NAME default` for every setting of a config shape, in name order, to compare with the README's. */
export function expectedSettings(shape: Record<string, unknown>): string[] {
  return Object.entries(shape)
    .map(([name, schema]) => `${name} ${shownDefault(schema)}`)
    .sort();
}

/** The same list as the README has it. */
export function listedSettings(rows: Map<string, string>): string[] {
  return [...rows].map(([name, shown]) => `${name} ${shown}`).sort();
}
