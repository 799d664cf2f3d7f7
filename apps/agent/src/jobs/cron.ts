/**
 * The scheduler's jobs: a nightly purge of what is past AGENT_RETENTION_DAYS, and an hourly
 * roll-up of usage and cost per user. The scheduler plugin fires each occurrence once across
 * every scheduler replica; both jobs are idempotent besides, so `admin run-job` may run them too.
 */
import { defineCronJob } from "@twelvefold/scheduler";
import { purge, rollUp } from "../db/maintenance.ts";
import { AgentSettings, AgentStore } from "../tokens.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** 03:30 every night (SCHEDULER_TZ): sessions idle past the retention, old runs, expired keys. */
export const purgeJob = defineCronJob({
  name: "purge-sessions",
  schedule: "30 3 * * *",
  // If every scheduler was down at 03:30, the next one to start runs the purge once.
  catchUp: "latest",
  requires: [AgentStore, AgentSettings],
  async run({ get, logger }) {
    const days = get(AgentSettings).AGENT_RETENTION_DAYS;
    const removed = await purge(get(AgentStore).db, { before: new Date(Date.now() - days * DAY_MS) });
    logger.info("purged", { retention_days: days, ...removed });
  },
});

/**
 * Five past every hour: usage and cost per user for the last two hours and the one in progress,
 * each recomputed whole, so a run saved late (a worker retried it) is still counted.
 */
export const rollupJob = defineCronJob({
  name: "usage-rollup",
  schedule: "5 * * * *",
  catchUp: "latest",
  requires: [AgentStore],
  async run({ get, logger }) {
    const rows = await rollUp(get(AgentStore).db, { since: new Date(Date.now() - 2 * HOUR_MS) });
    logger.info("usage rolled up", { rows });
  },
});
