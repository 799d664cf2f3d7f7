/**
 * @module
 * The Twelvefold kernel: application lifecycle, layered and validated configuration, a typed
 * service registry, the plugin contract, and the service contracts that plugins implement.
 *
 * @example
 * ```ts
 * import { createApp, definePlugin, env, token } from "@twelvefold/kernel";
 * import * as v from "valibot";
 *
 * interface Greeter { greet(name: string): string }
 * const Greeter = token<Greeter>("acme/Greeter");
 *
 * const greeter = definePlugin({
 *   name: "greeter",
 *   config: { GREETING: v.optional(env.string(), "Hello") },
 *   provides: [Greeter],
 *   start({ config, provide }) {
 *     provide(Greeter, { greet: (name) => `${config.GREETING}, ${name}` });
 *   },
 * });
 *
 * await createApp({ name: "hello", plugins: [greeter] }).run();
 * ```
 */

export { type App, type AppOptions, createApp, type RunOptions } from "./src/app.ts";
export {
  type Command,
  type CommandContext,
  type CommandDefinition,
  defineCommand,
} from "./src/command.ts";
export {
  type ConfigEntry,
  type ConfigOptions,
  type ConfigProblem,
  type ConfigShape,
  type ConfigSpec,
  defineConfig,
  type EnvSchema,
  env,
  formatConfig,
  type InferConfig,
  isSecret,
  type Profile,
  type ProfileDefaults,
  profiles,
  REDACTED,
  secret,
} from "./src/config.ts";
export * from "./src/contracts/cache.ts";
export * from "./src/contracts/chat-model.ts";
export * from "./src/contracts/event-log.ts";
export * from "./src/contracts/health.ts";
export * from "./src/contracts/http.ts";
export * from "./src/contracts/lock.ts";
export * from "./src/contracts/logger.ts";
export * from "./src/contracts/problem.ts";
export * from "./src/contracts/queue.ts";
export * from "./src/contracts/rate-limit.ts";
export * from "./src/contracts/telemetry.ts";
export { type DeadlineOptions, withDeadline } from "./src/deadline.ts";
export { parseDotenv } from "./src/dotenv.ts";
export {
  ConfigError,
  type ConfigIssue,
  defineErrors,
  type ErrorCatalogue,
  type ErrorClass,
  type ErrorFacts,
  type ErrorTable,
  type ErrorTemplate,
  ExitCode,
  GraphError,
  KernelError,
  type KernelErrorCode,
  PluginTimeoutError,
  quote,
  TwelvefoldError,
  type TwelvefoldErrorOptions,
} from "./src/errors.ts";
export * from "./src/instrument.ts";
export { type JsonCache, jsonCache } from "./src/json-cache.ts";
export { createLogger, type KernelLogger, type LoggerOptions } from "./src/logger.ts";
export {
  definePlugin,
  type HealthContext,
  type Plugin,
  type PluginContext,
  type PluginDefinition,
  type ServiceReader,
} from "./src/plugin.ts";
export {
  devProcessTypes,
  inProcesses,
  type ProcessSelector,
  type ProcessType,
  processTypes,
  runsIn,
} from "./src/process-types.ts";
export { Redactor, SENSITIVE_KEY } from "./src/redact.ts";
export { detectRuntime } from "./src/runtime/detect.ts";
export type { ConnectionInfo, HttpServer, Runtime, ServeOptions, ShutdownSignal } from "./src/runtime/types.ts";
export {
  type EmbeddedInfo,
  embeddedInfo,
  type FallbackContext,
  type FallbackFactory,
  markEmbedded,
  type Override,
  override,
  type Token,
  token,
} from "./src/token.ts";
export {
  defineJob,
  type Job,
  type JobContext,
  type JobDefinition,
  type JobEnqueueOptions,
  type PayloadSchema,
} from "./src/worker/job.ts";
export { WorkerJobs, type WorkerOptions, worker, workerConfig } from "./src/worker/worker.ts";
