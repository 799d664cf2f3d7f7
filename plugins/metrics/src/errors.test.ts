import { errorsContract } from "@twelvefold/testing";
import { metricsErrors } from "./errors.ts";

errorsContract("metrics", metricsErrors, {
  TF_METRICS_INVALID_NAME: { metric: "2xx", problem: "invalid metric name" },
  TF_METRICS_CONFLICT: { metric: "jobs_total", kind: "counter", labels: ["queue"] },
  TF_METRICS_COLLECT_TIMEOUT: { metric: "queue_depth", timeoutMs: 1000 },
});
