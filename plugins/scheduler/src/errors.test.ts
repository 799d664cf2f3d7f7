import { errorsContract } from "@twelvefold/testing";
import { schedulerErrors } from "./errors.ts";

errorsContract("scheduler", schedulerErrors, {
  TF_SCHEDULER_INVALID_JOB: { job: "purge", problem: 'invalid schedule "61 * * * *"' },
  TF_SCHEDULER_DUPLICATE_JOB: { job: "purge" },
  TF_SCHEDULER_UNKNOWN_JOB: { job: "prune", known: ["purge", "roll-up"] },
  TF_SCHEDULER_JOB_RUNNING: { job: "purge" },
});
