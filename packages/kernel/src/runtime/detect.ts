import { bunRuntime } from "./bun.ts";
import { denoRuntime } from "./deno.ts";
import { nodeRuntime } from "./node.ts";
import type { Runtime } from "./types.ts";

let current: Runtime | undefined;

/** The adapter for the runtime this code runs on, made once per process. */
export function detectRuntime(): Runtime {
  if (current) return current;
  const global = globalThis as { Deno?: unknown; Bun?: unknown };
  current = global.Deno !== undefined ? denoRuntime() : global.Bun !== undefined ? bunRuntime() : nodeRuntime();
  return current;
}
