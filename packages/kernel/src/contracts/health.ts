import { token } from "../token.ts";

/** `up`: working. `degraded`: working with reduced capacity. `down`: not working. */
export type HealthStatus = "up" | "degraded" | "down";

/** What a plugin's health check returns. `detail` must never hold a secret. */
export interface HealthCheckResult {
  readonly status: HealthStatus;
  readonly detail?: string;
}

/** One check in a {@link HealthReport}, with how long it took. */
export interface HealthCheck extends HealthCheckResult {
  readonly latencyMs: number;
}

/**
 * The aggregate an app reports on `/health`: the worst status of its checks
 * (any `down` makes the app `down`, else any `degraded` makes it `degraded`).
 */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly name: string;
  readonly version: string;
  readonly environment: string;
  readonly uptimeSeconds: number;
  readonly checks: Readonly<Record<string, HealthCheck>>;
}

/** Where the app is in its life. Only `ready` admits traffic. */
export type Phase = "created" | "starting" | "ready" | "draining" | "stopping" | "stopped" | "failed";

/**
 * The app's own state, provided by the kernel: readiness, health and in-flight work.
 * The http plugin serves `/readyz` and `/health` from it; queue consumers track jobs with it.
 */
export interface Lifecycle {
  readonly phase: Phase;
  /** True from the moment every plugin has started until draining begins. */
  readonly ready: boolean;
  /** Aborts when draining begins (SIGTERM, SIGINT, `app.stop()` or a fatal error). */
  readonly draining: AbortSignal;
  /** Runs every plugin's health check, each under a timeout, and aggregates them. */
  health(): Promise<HealthReport>;
  /**
   * Tracks a piece of in-flight work: draining waits for it up to SHUTDOWN_TIMEOUT_MS.
   * Returns the same promise.
   */
  track<T>(work: Promise<T>): Promise<T>;
  /**
   * Adds work a plugin counts itself (the http plugin's requests) to {@link inFlight}, so the
   * drain's log lines report it, without a tracked promise per request. Draining does not wait
   * on it: the plugin's own drain hook does. Returns a function that removes the count.
   */
  countInFlight(count: () => number): () => void;
  /** How many pieces of work are in flight: tracked ones and those counted by plugins. */
  readonly inFlight: number;
}

/** The kernel's lifecycle handle. */
export const Lifecycle = token<Lifecycle>("twelvefold/Lifecycle");

/** Static facts about the running app, from APP_NAME, APP_VERSION and ENVIRONMENT. */
export interface AppInfo {
  readonly name: string;
  readonly version: string;
  readonly environment: string;
  /** Epoch milliseconds at which the process began starting. */
  readonly startedAt: number;
}

/** The kernel's app facts. */
export const AppInfo = token<AppInfo>("twelvefold/AppInfo");
