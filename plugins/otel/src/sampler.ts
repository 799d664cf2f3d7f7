/** The samplers of the OpenTelemetry specification that OTEL_TRACES_SAMPLER names. */
export const samplerNames = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

/** A sampler name from {@link samplerNames}. */
export type SamplerName = (typeof samplerNames)[number];

/** What a sampler knows about a new span's parent: nothing (a root), or whether it was sampled. */
export interface ParentInfo {
  readonly sampled: boolean;
  readonly remote: boolean;
}

/** Decides whether a new span is recorded and exported. */
export type Sampler = (traceId: string, parent: ParentInfo | undefined) => boolean;

const RANDOM_BITS = 2 ** 52;

/**
 * Samples a fixed share of traces, decided by the trace id alone so that every service taking
 * part in a trace decides alike: the id's last 13 hex digits (52 random bits) against the ratio.
 */
export function traceIdRatio(ratio: number): (traceId: string) => boolean {
  const bound = Math.max(0, Math.min(1, ratio)) * RANDOM_BITS;
  return (traceId) => Number.parseInt(traceId.slice(19), 16) < bound;
}

/**
 * Builds the sampler from OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (the ratio, default 1.0).
 * The parent-based samplers follow a parent's decision, local or remote, and use the root sampler
 * only for new traces.
 */
export function createSampler(name: SamplerName, arg: number | undefined): Sampler {
  const ratio = traceIdRatio(arg ?? 1);
  const root: (traceId: string) => boolean =
    name === "always_on" || name === "parentbased_always_on"
      ? () => true
      : name === "always_off" || name === "parentbased_always_off"
        ? () => false
        : ratio;
  if (!name.startsWith("parentbased_")) return (traceId) => root(traceId);
  return (traceId, parent) => (parent ? parent.sampled : root(traceId));
}
