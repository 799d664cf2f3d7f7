import {
  type Counter,
  type Gauge,
  type Histogram,
  type Labels,
  type Meter,
  type MetricOptions,
  type MetricSeries,
  type MetricSnapshot,
  quote,
  withDeadline,
} from "@twelvefold/kernel";
import { metricsErrors } from "./errors.ts";
import { escapeHelp, formatValue, labelPairs, validLabelName, validMetricName } from "./exposition.ts";

/** Default histogram buckets, in seconds: Prometheus client defaults. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Kind = "counter" | "gauge" | "histogram";

interface Series {
  /** Rendered `a="x",b="y"`. */
  readonly labels: string;
  /** The label values, in the order of the metric's label names. */
  readonly values: readonly string[];
  value: number;
  counts?: Float64Array;
  count?: number;
}

/** Options for {@link MetricRegistry}. */
export interface RegistryOptions {
  /**
   * Label sets kept per metric (default 10 000). Past it, new label sets are not recorded and are
   * counted in `metrics_series_dropped_total`: a raw path or user id used as a label cannot grow
   * memory without bound.
   */
  readonly maxSeriesPerMetric?: number;
  /** Budget of each `collect` callback at a scrape (default 1 000 ms). */
  readonly collectTimeoutMs?: number;
  /** Told when a `collect` callback fails or times out. */
  readonly onCollectError?: (metric: string, error: unknown) => void;
}

const NO_LABELS: readonly string[] = [];
const SEP = "\u0000";

/** Series looked up by label values, one level per label. */
type Index = Map<string, Index | Series>;

/** A label's value as text: `200` and `"200"` are the same series. */
function labelValue(labels: Labels | undefined, name: string): string {
  const value = labels?.[name];
  return typeof value === "string" ? value : value === undefined ? "" : String(value);
}

/** One metric name with its label sets. */
class Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  readonly labelNames: readonly string[];
  readonly buckets: readonly number[];
  readonly collectors: Array<(self: never) => void | Promise<void>> = [];
  readonly series = new Map<string, Series>();
  readonly #index: Index = new Map();
  readonly #registry: MetricRegistry;

  constructor(registry: MetricRegistry, kind: Kind, options: MetricOptions, buckets: readonly number[]) {
    this.#registry = registry;
    this.kind = kind;
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? NO_LABELS;
    this.buckets = buckets;
  }

  /** The series for a label set, created on first use; `undefined` past the series limit. */
  get(labels: Labels | undefined): Series | undefined {
    // One map level per label, keyed by value: recording builds no key string (this runs on
    // every request, twice); the flat map below keeps the series for rendering.
    const names = this.labelNames;
    let node = this.#index;
    const last = names.length - 1;
    for (let i = 0; i < last; i++) {
      const value = labelValue(labels, names[i] as string);
      let next = node.get(value) as Index | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(value, next);
      }
      node = next;
    }
    const leaf = last < 0 ? "" : labelValue(labels, names[last] as string);
    const found = node.get(leaf) as Series | undefined;
    if (found !== undefined) return found;
    if (this.series.size >= this.#registry.maxSeries) {
      this.#registry.seriesDropped(this.name);
      return undefined;
    }
    const values = names.map((name) => labelValue(labels, name));
    const series: Series = { labels: labelPairs(names, values), values, value: 0 };
    if (this.kind === "histogram") {
      series.counts = new Float64Array(this.buckets.length);
      series.count = 0;
    }
    node.set(leaf, series);
    this.series.set(values.join(SEP), series);
    return series;
  }

  /** The metric and its series as recorded, label values by name. */
  snapshot(): MetricSnapshot {
    const series: MetricSeries[] = [];
    for (const one of this.series.values()) {
      const labels = Object.fromEntries(this.labelNames.map((name, i) => [name, one.values[i] ?? ""]));
      if (this.kind !== "histogram") {
        series.push({ labels, value: one.value });
        continue;
      }
      const counts = Array.from(one.counts as Float64Array);
      const count = one.count as number;
      counts.push(count - counts.reduce((a, b) => a + b, 0));
      series.push({ labels, value: one.value, bucketCounts: counts, count });
    }
    const base = { name: this.name, help: this.help, kind: this.kind, series };
    return this.kind === "histogram" ? { ...base, buckets: this.buckets } : base;
  }

  /** Forgets every label set (a collected gauge reports afresh at each scrape). */
  clear(): void {
    this.series.clear();
    this.#index.clear();
  }

  render(out: string[]): void {
    if (this.series.size === 0 && this.labelNames.length > 0) return;
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.kind}`);
    if (this.series.size === 0) {
      if (this.kind !== "histogram") out.push(`${this.name} 0`);
      else
        this.#renderHistogram(out, {
          labels: "",
          values: [],
          value: 0,
          counts: new Float64Array(this.buckets.length),
          count: 0,
        });
      return;
    }
    for (const series of this.series.values()) {
      if (this.kind === "histogram") this.#renderHistogram(out, series);
      else out.push(`${this.name}${series.labels ? `{${series.labels}}` : ""} ${formatValue(series.value)}`);
    }
  }

  #renderHistogram(out: string[], series: Series): void {
    const prefix = series.labels ? `${series.labels},` : "";
    const counts = series.counts as Float64Array;
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += counts[i] as number;
      out.push(`${this.name}_bucket{${prefix}le="${formatValue(this.buckets[i] as number)}"} ${cumulative}`);
    }
    out.push(`${this.name}_bucket{${prefix}le="+Inf"} ${series.count}`);
    const braces = series.labels ? `{${series.labels}}` : "";
    out.push(`${this.name}_sum${braces} ${formatValue(series.value)}`, `${this.name}_count${braces} ${series.count}`);
  }
}

/**
 * A lean Prometheus registry implementing the kernel's Meter contract. Recording is a map lookup
 * and an addition; the text is built only when scraped. Exposition follows the text format 0.0.4:
 * HELP and TYPE lines, escaped label values, histograms as cumulative `_bucket` series with `le`
 * up to `+Inf`, plus `_sum` and `_count`.
 *
 * @example
 * ```ts
 * const registry = new MetricRegistry();
 * registry.counter({ name: "jobs_total", help: "Jobs run.", labelNames: ["queue"] }).inc({ queue: "mail" });
 * const text = await registry.collect();
 * ```
 */
export class MetricRegistry implements Meter {
  readonly maxSeries: number;
  readonly #families = new Map<string, Family>();
  readonly #collectTimeoutMs: number;
  readonly #onCollectError: (metric: string, error: unknown) => void;
  #dropped: Family | undefined;

  constructor(options: RegistryOptions = {}) {
    this.maxSeries = options.maxSeriesPerMetric ?? 10_000;
    this.#collectTimeoutMs = options.collectTimeoutMs ?? 1_000;
    this.#onCollectError = options.onCollectError ?? (() => {});
  }

  counter(
    options: MetricOptions & {
      readonly collect?: (
        counter: Counter & { set(labels: Labels | undefined, value: number): void },
      ) => void | Promise<void>;
    },
  ): Counter & { set(labels: Labels | undefined, value: number): void } {
    if (!options.name.endsWith("_total")) {
      throw metricsErrors.create("TF_METRICS_INVALID_NAME", {
        metric: options.name,
        problem: 'a counter must end in "_total"',
      });
    }
    const family = this.#family("counter", options, []);
    const counter = {
      inc(labels?: Labels, value = 1) {
        // NaN, negative and infinite increments would break the monotonic contract; they are ignored.
        if (!(value >= 0) || value === Number.POSITIVE_INFINITY) return;
        const series = family.get(labels);
        if (series) series.value += value;
      },
      /** For counters read from elsewhere at scrape time (CPU seconds); not part of the Counter contract. */
      set(labels: Labels | undefined, value: number) {
        const series = family.get(labels);
        if (series) series.value = value;
      },
    };
    if (options.collect) family.collectors.push(() => options.collect?.(counter));
    return counter;
  }

  gauge(options: MetricOptions & { readonly collect?: (gauge: Gauge) => void | Promise<void> }): Gauge {
    const family = this.#family("gauge", options, []);
    const gauge: Gauge = {
      set(labels, value) {
        const series = family.get(labels);
        if (series) series.value = value;
      },
      inc(labels, value = 1) {
        const series = family.get(labels);
        if (series) series.value += value;
      },
      dec(labels, value = 1) {
        const series = family.get(labels);
        if (series) series.value -= value;
      },
    };
    if (options.collect) {
      const collect = options.collect;
      family.collectors.push(() => {
        // A collected gauge shows what the callback reports now: label sets it no longer sets disappear.
        family.clear();
        return collect(gauge);
      });
    }
    return gauge;
  }

  histogram(options: MetricOptions & { readonly buckets?: readonly number[] }): Histogram {
    const buckets = [...new Set(options.buckets ?? DEFAULT_BUCKETS)].filter(Number.isFinite).sort((a, b) => a - b);
    if ((options.labelNames ?? []).includes("le")) {
      throw metricsErrors.create("TF_METRICS_INVALID_NAME", {
        metric: options.name,
        problem: 'a histogram cannot use the label "le"',
      });
    }
    const family = this.#family("histogram", options, buckets);
    return {
      observe(labels, value) {
        if (Number.isNaN(value)) return;
        const series = family.get(labels);
        if (!series) return;
        const counts = series.counts as Float64Array;
        let i = 0;
        while (i < buckets.length && value > (buckets[i] as number)) i++;
        if (i < buckets.length) counts[i] = (counts[i] as number) + 1;
        series.value += value;
        series.count = (series.count as number) + 1;
      },
    };
  }

  /** Runs every `collect` callback (each under its budget), then renders the exposition text. */
  async collect(): Promise<string> {
    await this.#runCollectors();
    return this.render();
  }

  /** Runs every `collect` callback, then returns every metric as recorded (the Meter contract's OTLP seam). */
  async snapshot(): Promise<MetricSnapshot[]> {
    await this.#runCollectors();
    return [...this.#families.values()].map((family) => family.snapshot());
  }

  async #runCollectors(): Promise<void> {
    const runs = [...this.#families.values()].flatMap((family) =>
      family.collectors.map(async (collect) => {
        const timeoutMs = this.#collectTimeoutMs;
        try {
          await withDeadline(() => collect(undefined as never), {
            timeoutMs,
            error: () => metricsErrors.create("TF_METRICS_COLLECT_TIMEOUT", { metric: family.name, timeoutMs }),
          });
        } catch (error) {
          this.#onCollectError(family.name, error);
        }
      }),
    );
    await Promise.all(runs);
  }

  /** The exposition text as recorded, without running `collect` callbacks. */
  render(): string {
    const out: string[] = [];
    for (const family of this.#families.values()) family.render(out);
    return out.length === 0 ? "" : `${out.join("\n")}\n`;
  }

  /** Counts a label set refused by the series limit. */
  seriesDropped(metric: string): void {
    this.#dropped ??= this.#family(
      "counter",
      {
        name: "metrics_series_dropped_total",
        help: "Label sets not recorded because their metric reached the series limit.",
        labelNames: ["metric"],
      },
      [],
    );
    const series = this.#dropped.get({ metric });
    if (series) series.value++;
  }

  #family(kind: Kind, options: MetricOptions, buckets: readonly number[]): Family {
    const { name } = options;
    if (!validMetricName(name))
      throw metricsErrors.create("TF_METRICS_INVALID_NAME", { metric: name, problem: "invalid metric name" });
    for (const label of options.labelNames ?? []) {
      if (!validLabelName(label)) {
        throw metricsErrors.create("TF_METRICS_INVALID_NAME", {
          metric: name,
          problem: `invalid label name ${quote(label)}`,
        });
      }
    }
    const existing = this.#families.get(name) ?? this.#families.get(baseName(name));
    if (existing) {
      const same =
        existing.name === name &&
        existing.kind === kind &&
        existing.labelNames.join(",") === (options.labelNames ?? []).join(",");
      if (!same) {
        throw metricsErrors.create("TF_METRICS_CONFLICT", {
          metric: name,
          kind: existing.kind,
          labels: existing.labelNames,
        });
      }
      return existing;
    }
    const family = new Family(this, kind, options, buckets);
    this.#families.set(name, family);
    return family;
  }
}

function baseName(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, "");
}
