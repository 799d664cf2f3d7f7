/**
 * @module
 * The Twelvefold contract-test kit: one suite per kernel service contract (Cache,
 * RateLimitStore, Queue, Lock, EventLog, ChatModel), a plugin lifecycle suite, a test-app harness,
 * and an OpenAI-protocol server that injects faults on demand, for testing a model adapter's resilience.
 * An adapter's test file calls a suite in a few lines; the suite registers its cases with bun:test.
 *
 * @example
 * ```ts
 * import { cacheContract } from "@twelvefold/testing";
 * import { memoryCache } from "@twelvefold/kernel/memory";
 *
 * cacheContract("memory", () => memoryCache());
 * ```
 */
export { type CacheContractOptions, cacheCases, cacheContract } from "./src/cache.ts";
export {
  type AdapterFactory,
  applicableCases,
  type CaseContext,
  type ContractCase,
  latch,
  runCase,
  type SuiteOptions,
  sleep,
} from "./src/case.ts";
export { type ChatModelContractOptions, chatModelCases, chatModelContract } from "./src/chat-model.ts";
export { TestingError, type TestingErrorCode } from "./src/errors.ts";
export { type ErrorSamples, errorsContract } from "./src/errors-contract.ts";
export { type EventLogContractOptions, eventLogCases, eventLogContract } from "./src/event-log.ts";
export {
  type ChatBody,
  defaultReply,
  type Fault,
  type FaultReply,
  type FaultRequest,
  type FaultServer,
  type FaultServerOptions,
  faultServer,
  faults,
} from "./src/fault-server.ts";
export { type LogLine, type TestApp, type TestAppOptions, testApp } from "./src/harness.ts";
export { type LockContractOptions, lockCases, lockContract } from "./src/lock.ts";
export { type PluginContractOptions, pluginCases, pluginContract } from "./src/plugin.ts";
export { type QueueContractOptions, queueCases, queueContract } from "./src/queue.ts";
export { type RateLimitContractOptions, rateLimitCases, rateLimitContract } from "./src/rate-limit.ts";
export {
  type AnswerKind,
  type FakeRuntime,
  fakeRuntime,
  type WatchedRuntime,
  watchedRuntime,
} from "./src/runtime.ts";
