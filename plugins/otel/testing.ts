/**
 * @module
 * Test helpers for tracing: a real OTLP/HTTP receiver on loopback that decodes what exporters send.
 *
 * @example
 * ```ts
 * import { otlpReceiver } from "@twelvefold/otel/testing";
 * const receiver = otlpReceiver();
 * const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint };
 * ```
 */

export {
  type OtlpReceiver,
  otlpReceiver,
  type ReceivedLog,
  type ReceivedMetric,
  type ReceivedPoint,
  type ReceivedSpan,
} from "./src/receiver.ts";
