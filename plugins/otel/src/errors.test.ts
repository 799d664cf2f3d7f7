import { errorsContract } from "@twelvefold/testing";
import { otelErrors } from "./errors.ts";

errorsContract("otel", otelErrors, {
  TF_OTEL_ENCODE_FAILED: { count: 3, what: "span" },
  TF_OTEL_EXPORT_FAILED: { origin: "http://collector:4318", status: 503 },
});
