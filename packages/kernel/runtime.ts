/**
 * @module
 * The runtime adapters, for apps and tests that pick one explicitly instead of `detectRuntime()`.
 *
 * @example
 * ```ts
 * import { createApp } from "@twelvefold/kernel";
 * import { bunRuntime } from "@twelvefold/kernel/runtime";
 *
 * createApp({ name: "agent", plugins: [], runtime: bunRuntime() });
 * ```
 */
export { bunRuntime } from "./src/runtime/bun.ts";
export { denoRuntime } from "./src/runtime/deno.ts";
export { detectRuntime } from "./src/runtime/detect.ts";
export { nodeRuntime } from "./src/runtime/node.ts";
export { boundedLineWriter, STDOUT_HIGH_WATER } from "./src/runtime/stdout.ts";
export type * from "./src/runtime/types.ts";
