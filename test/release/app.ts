/**
 * What the release tests need to know of the sample agent: the process types it can start as today
 * and its settings, read from the app and the plugins themselves.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { agentApp } from "../../apps/agent/src/app.ts";
import {
  type ConfigShape,
  type ConfigSpec,
  createApp,
  definePlugin,
  type Plugin,
  type ProcessType,
  type Profile,
} from "../../packages/kernel/mod.ts";

/** The process types whose bundle and manifests the release tests run: every one the agent has. */
export const runnableTypes: readonly ProcessType[] = ["web", "worker", "scheduler", "admin"];

const allTypes: ProcessType[] = ["web", "worker", "scheduler", "admin"];
const profiles: Profile[] = ["development", "testing", "staging", "production"];

/** True for what `defineConfig` returns. */
const isConfigSpec = (value: unknown): value is ConfigSpec<ConfigShape> =>
  typeof value === "object" && value !== null && typeof (value as { shape?: unknown }).shape === "function";

/** True for a record of valibot schemas keyed by variable name. */
const isShape = (value: unknown): value is ConfigShape =>
  typeof value === "object" &&
  value !== null &&
  Object.keys(value).length > 0 &&
  Object.entries(value).every(([k, s]) => /^[A-Z][A-Z0-9_]*$/.test(k) && (s as { kind?: unknown })?.kind === "schema");

/**
 * Every config spec a repository plugin exports (from its mod.ts or src/config.ts), each wrapped in
 * a plugin of its own that does nothing, so an app can report the settings and which are secret.
 */
async function repositoryConfigs(): Promise<Plugin[]> {
  const root = join(import.meta.dir, "..", "..", "plugins");
  const specs = new Set<ConfigSpec<ConfigShape> | ConfigShape>();
  const files = readdirSync(root).flatMap((folder) => [
    join(root, folder, "mod.ts"),
    join(root, folder, "src", "config.ts"),
  ]);
  // The sample agent's own settings, a plain shape, some of them read by plugins it has yet to wire.
  files.push(join(import.meta.dir, "..", "..", "apps", "agent", "src", "config.ts"));
  for (const path of files) {
    if (!existsSync(path)) continue;
    for (const value of Object.values(await import(path))) if (isConfigSpec(value) || isShape(value)) specs.add(value);
  }
  return [...specs].map((config, i) => definePlugin({ name: `config-${i}`, config, start() {} }));
}

/** Settings some plugin, the app or the kernel declares, and those any of them marks secret. */
export async function declaredSettings(): Promise<{ names: Set<string>; secrets: Set<string> }> {
  const names = new Set<string>();
  const secrets = new Set<string>();
  const plugins = await repositoryConfigs();
  for (const profile of profiles) {
    for (const plugin of plugins) for (const name of Object.keys(plugin.configShape(profile))) names.add(name);
  }
  for (const app of [agentApp(), createApp({ name: "kernel", plugins, env: {} })]) {
    for (const entry of await app.inspectConfig({ process: allTypes })) {
      names.add(entry.name);
      if (entry.secret) secrets.add(entry.name);
    }
  }
  return { names, secrets };
}

/** The settings the agent cannot start without in `profile`: what an empty environment is refused for. */
export async function requiredSettings(profile: Profile): Promise<string[]> {
  try {
    await agentApp({ env: { ENVIRONMENT: profile } }).inspectConfig({ process: allTypes });
    return [];
  } catch (error) {
    const issues = (error as { issues?: Array<{ name: string }> }).issues;
    if (!issues) throw error;
    return [...new Set(issues.map((i) => i.name))];
  }
}

/** The issues (names) of the agent's config resolved from `env`, for every process type. */
export async function configProblems(env: Record<string, string>): Promise<string[]> {
  try {
    await agentApp({ env }).inspectConfig({ process: allTypes });
    return [];
  } catch (error) {
    const issues = (error as { issues?: Array<{ name: string; expected?: string }> }).issues;
    if (!issues) throw error;
    return issues.map((i) => `${i.name}: ${i.expected ?? "invalid"}`);
  }
}

/** A template's variables: `NAME=value` lines, and `# NAME=value` lines (named, commented out). */
export function readTemplate(file: string): Array<{ name: string; value: string; commented: boolean }> {
  const out: Array<{ name: string; value: string; commented: boolean }> = [];
  for (const line of readFileSync(join(import.meta.dir, "..", "..", file), "utf8").split("\n")) {
    const match = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match)
      out.push({ name: match[2] as string, value: (match[3] as string).trim(), commented: match[1] !== undefined });
  }
  return out;
}
