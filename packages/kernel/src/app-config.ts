import * as v from "valibot";
import {
  type ConfigLayer,
  type ConfigShape,
  env,
  type Profile,
  type ProfileDefaults,
  profiles,
  resolveProfile,
} from "./config.ts";
import { parseDotenv } from "./dotenv.ts";
import type { Plugin } from "./plugin.ts";
import type { Runtime } from "./runtime/types.ts";

/** The kernel's own settings, validated with every plugin's. */
export interface KernelConfig {
  APP_NAME: string;
  APP_VERSION: string;
  ENVIRONMENT: Profile;
  LOG_LEVEL: "debug" | "info" | "warn" | "error" | "silent";
  LOG_FORMAT: "json" | "pretty";
  SHUTDOWN_TIMEOUT_MS: number;
  DRAIN_DELAY_MS: number;
  WORKERS: number;
}

/** The kernel's defaults per profile: readable logs in development, quieter tests. */
const kernelDefaults: ProfileDefaults = {
  development: { LOG_LEVEL: "debug", LOG_FORMAT: "pretty" },
  testing: { LOG_LEVEL: "warn" },
  staging: { LOG_LEVEL: "info" },
  production: { LOG_LEVEL: "info" },
};

/** The schemas of the kernel's settings; APP_NAME and APP_VERSION default to what the app was built with. */
export function kernelShape(options: { readonly name: string; readonly version?: string }): ConfigShape {
  return {
    APP_NAME: v.optional(env.string({ minLength: 1 }), options.name),
    APP_VERSION: v.optional(env.string({ minLength: 1 }), options.version ?? "0.0.0"),
    ENVIRONMENT: v.optional(env.picklist(profiles as [Profile, ...Profile[]]), "development"),
    LOG_LEVEL: v.optional(env.picklist(["debug", "info", "warn", "error", "silent"]), "info"),
    LOG_FORMAT: v.optional(env.picklist(["json", "pretty"]), "json"),
    SHUTDOWN_TIMEOUT_MS: v.optional(env.integer({ min: 0 }), "20000"),
    DRAIN_DELAY_MS: v.optional(env.integer({ min: 0 }), "0"),
    /** Copies of the web process on one port (SO_REUSEPORT), restarted when one dies; read by `web` only. */
    WORKERS: v.optional(env.integer({ min: 1, max: 256 }), "1"),
  };
}

/** Where config comes from: the given env (tests) or the process env, and the folder of the `.env` files. */
export interface ConfigSourceOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly envDir?: string;
  readonly plugins: readonly Plugin[];
}

/**
 * Reads the config layers, highest first: process env, `.env.<ENVIRONMENT>.local`,
 * `.env.<ENVIRONMENT>`, `.env`, then the profile's defaults (the kernel's, then each plugin's).
 * `ENVIRONMENT` itself may come from the process env or `.env`.
 */
export async function loadConfigLayers(
  runtime: Runtime,
  options: ConfigSourceOptions,
): Promise<{ layers: ConfigLayer[]; profile: Profile }> {
  const { env: given, envDir } = options;
  const processEnv: ConfigLayer = { name: "process env", values: given ?? runtime.env() };
  const dir = envDir ?? (given ? undefined : ".");
  const read = async (file: string): Promise<ConfigLayer | undefined> => {
    if (dir === undefined) return undefined;
    const text = await runtime.readTextFile(`${dir}/${file}`);
    return text === undefined ? undefined : { name: file, values: parseDotenv(text) };
  };
  const base = await read(".env");
  const profile = resolveProfile(base ? [processEnv, base] : [processEnv]);
  const [local, specific] = await Promise.all([read(`.env.${profile}.local`), read(`.env.${profile}`)]);
  const defaults: Record<string, string> = { ...kernelDefaults[profile] };
  for (const plugin of options.plugins) Object.assign(defaults, plugin.defaults[profile]);
  const layers = [processEnv, local, specific, base, { name: `${profile} profile`, values: defaults }];
  return { layers: layers.filter((l): l is ConfigLayer => l !== undefined), profile };
}
