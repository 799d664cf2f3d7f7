// Shared by dashboard.test.ts and promtool.test.ts: the metrics every plugin registers, found by
// starting the plugins, not read from a list. One app with every plugin that records figures runs
// as each process type (web, worker, scheduler) on the memory adapters, with a registry that
// notes what is registered (a labelled metric with no series yet is not in the scrape), and each
// is scraped over HTTP where Prometheus scrapes it: web on its http listener, worker and
// scheduler on the management port.
//
// The other plugins are imported by path: they are not dependencies of this package, and only
// this test starts them together.
import { defineJob, type MetricOptions, type Plugin, type ProcessType, worker } from "@twelvefold/kernel";
import { testApp } from "@twelvefold/testing";
import * as v from "valibot";
import { agent } from "../../../agent/mod.ts";
import { http, ManagementListener, management, runsManagement } from "../../../http/mod.ts";
import { Agent, llm } from "../../../llm/mod.ts";
import { otel } from "../../../otel/mod.ts";
import { postgres } from "../../../postgres/mod.ts";
import { rateLimit } from "../../../rate-limit/mod.ts";
import { redis } from "../../../redis/mod.ts";
import { defineCronJob, scheduler } from "../../../scheduler/mod.ts";
import { metrics } from "../plugin.ts";
import { MetricRegistry } from "../registry.ts";

/** A metric as a plugin registered it. */
export interface Registration {
  readonly name: string;
  readonly kind: "counter" | "gauge" | "histogram";
  readonly labelNames: readonly string[];
  /** The process types it was registered in. */
  readonly processes: ReadonlySet<ProcessType>;
}

/** What one process type registered and served. */
export interface ProcessScrape {
  readonly type: ProcessType;
  /** The plugin whose listener answered `/metrics`: the http plugin's (web) or the management server's. */
  readonly server: "http" | "management";
  readonly status: number;
  readonly text: string;
  readonly registered: ReadonlyMap<string, Omit<Registration, "processes">>;
}

/** A MetricRegistry that keeps what was registered with it, as the plugins registered it. */
class NotingRegistry extends MetricRegistry {
  readonly registered = new Map<string, Omit<Registration, "processes">>();

  #note(kind: Registration["kind"], options: MetricOptions): void {
    this.registered.set(options.name, { name: options.name, kind, labelNames: options.labelNames ?? [] });
  }

  override counter(options: Parameters<MetricRegistry["counter"]>[0]): ReturnType<MetricRegistry["counter"]> {
    const counter = super.counter(options);
    this.#note("counter", options);
    return counter;
  }

  override gauge(options: Parameters<MetricRegistry["gauge"]>[0]): ReturnType<MetricRegistry["gauge"]> {
    const gauge = super.gauge(options);
    this.#note("gauge", options);
    return gauge;
  }

  override histogram(options: Parameters<MetricRegistry["histogram"]>[0]): ReturnType<MetricRegistry["histogram"]> {
    const histogram = super.histogram(options);
    this.#note("histogram", options);
    return histogram;
  }
}

/** The metric families in an exposition text, with the label names their samples carry. */
export function familiesOf(text: string): Map<string, Omit<Registration, "processes">> {
  const families = new Map<string, Omit<Registration, "processes">>();
  for (const [, name, kind] of text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram)$/gm)) {
    const labels = new Set<string>();
    const samples = new RegExp(`^${name}(?:_bucket|_sum|_count)?\\{([^}]*)\\}`, "gm");
    for (const [, pairs] of text.matchAll(samples)) {
      for (const [, label = ""] of (pairs ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) {
        if (label !== "le") labels.add(label);
      }
    }
    families.set(name as string, { name: name as string, kind: kind as Registration["kind"], labelNames: [...labels] });
  }
  return families;
}

const topic = "monitoring.probe";
const probeJob = defineJob({ topic, payload: v.object({ n: v.number() }), run() {} });
const probeCron = defineCronJob({ name: "monitoring-probe", schedule: "0 3 * * *", run() {} });

/** Every plugin that can record a figure, in one list for every process type, as an app has it. */
export function everyPlugin(registry: MetricRegistry): Plugin[] {
  return [
    redis(),
    postgres(),
    otel(),
    metrics({ registry }),
    http(),
    management(),
    llm(),
    rateLimit(),
    worker({ jobs: [probeJob] }),
    scheduler({ jobs: [probeCron] }),
    agent({ loop: Agent }),
  ];
}

/** Starts the app as `type`, scrapes `/metrics` where Prometheus would, and stops it. */
export async function scrapeProcess(type: ProcessType): Promise<ProcessScrape> {
  // A limit of one label set per metric: the first metric given a second one trips it, so the
  // registry's own overflow counter is registered too.
  const registry = new NotingRegistry({ maxSeriesPerMetric: 1 });
  await using t = await testApp({
    name: "agent",
    version: "1.0.0",
    process: type,
    plugins: everyPlugin(registry),
    env: {
      MANAGEMENT_PORT: "0",
      MANAGEMENT_HOST: "127.0.0.1",
      METRICS_QUEUE_TOPICS: topic,
      OTEL_TRACES_EXPORTER: "none",
      LOG_LEVEL: "error",
    },
  });
  // Where the management server runs, /metrics is on it; elsewhere on the http plugin's listener.
  const managed = runsManagement(t.app.processes) ? t.get(ManagementListener) : undefined;
  const server = managed ? "management" : "http";
  const url = managed?.url ?? t.url;
  if (server === "http") {
    // Two routes give the http figures their series (one 404, one the agent plugin's route).
    for (const path of ["/no-such-route", "/agent/runs/none/events"]) await (await fetch(url + path)).body?.cancel();
  }
  const response = await fetch(`${url}/metrics`);
  const text = await response.text();
  // What the registry registers for itself (its series-limit counter) shows only in the scrape.
  const registered = new Map([...familiesOf(text), ...registry.registered]);
  return { type, server, status: response.status, text, registered };
}

/** Every process type's scrape, and every metric registered in any, with the types that register it. */
export async function scrapeEveryProcess(): Promise<{
  processes: readonly ProcessScrape[];
  registered: ReadonlyMap<string, Registration>;
}> {
  const processes: ProcessScrape[] = [];
  for (const type of ["web", "worker", "scheduler"] as const) processes.push(await scrapeProcess(type));
  const registered = new Map<string, Registration>();
  for (const process of processes) {
    for (const [name, found] of process.registered) {
      const known = registered.get(name);
      registered.set(name, { ...found, processes: new Set([...(known?.processes ?? []), process.type]) });
    }
  }
  return { processes, registered };
}
