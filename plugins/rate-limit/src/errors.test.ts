import { errorsContract } from "@twelvefold/testing";
import { rateLimitErrors } from "./errors.ts";

errorsContract("rate-limit", rateLimitErrors, {
  TF_RATE_LIMIT_POLICY: { policy: "chat", problem: "is defined twice" },
});
