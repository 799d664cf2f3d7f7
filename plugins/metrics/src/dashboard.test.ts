// deploy/monitoring/ held to the metrics the plugins actually register. The registered names come
// from starting every plugin as each process type and scraping it (testdata/processes.ts), never
// from a list: a panel on a name no plugin registers, a label no such metric carries, or a metric
// no panel shows fails here.
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, metricNames } from "@twelvefold/kernel";
import { MetricRegistry } from "./registry.ts";
import { everyPlugin, type ProcessScrape, type Registration, scrapeEveryProcess } from "./testdata/processes.ts";
import { reads } from "./testdata/promql.ts";

const folder = new URL("../../../deploy/monitoring/", import.meta.url).pathname;

/** Labels Prometheus adds to every scraped series: from the target (prometheus.yml) and the scrape. */
const TARGET_LABELS = new Set(["job", "instance", "process_type"]);

/**
 * A label as Prometheus stores it: one that clashes with a target label (the scheduler's `job`,
 * the cron job's name) is kept as `exported_<name>` (honor_labels: false, the default).
 */
const stored = (label: string) => (TARGET_LABELS.has(label) ? `exported_${label}` : label);

/**
 * Registered, and deliberately on no panel: the kernel's chatMetrics figures, which the llm plugin
 * records beside the GenAI histograms for every call. They say nothing the GenAI ones do not
 * (llm_tokens_total{model,type} is gen_ai_client_token_usage_sum by response model and token type;
 * llm_request_duration_seconds{model,outcome} is gen_ai_client_operation_duration_seconds by
 * request model and error_type), so the dashboard reads the GenAI names, which OpenTelemetry
 * backends know too.
 */
const RETIRED: Readonly<Record<string, string>> = {
  llm_tokens_total: "gen_ai_client_token_usage",
  llm_request_duration_seconds: "gen_ai_client_operation_duration_seconds",
};

interface Panel {
  readonly id: number;
  readonly title: string;
  readonly type: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: ReadonlyArray<{ readonly expr: string }>;
}

interface Query {
  /** Where it is: a panel's title or a rule's name. */
  readonly where: string;
  readonly expr: string;
}

interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
}

async function dashboard(): Promise<{ panels: Panel[] }> {
  return (await Bun.file(`${folder}grafana-dashboard.json`).json()) as { panels: Panel[] };
}

async function dashboardQueries(): Promise<Query[]> {
  return (await dashboard()).panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr })));
}

async function rules(): Promise<Rule[]> {
  const text = await Bun.file(`${folder}rules.yml`).text();
  return (Bun.YAML.parse(text) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
}

async function ruleQueries(): Promise<Query[]> {
  return (await rules()).map((r) => ({ where: r.record ?? r.alert ?? "?", expr: r.expr }));
}

/** A scrape job of prometheus.yml: the process type it labels its targets with, their ports, its path. */
interface ScrapeJob {
  readonly name: string;
  readonly processType: string | undefined;
  readonly ports: readonly string[];
  readonly path: string;
}

interface ScrapeConfig {
  readonly job_name: string;
  readonly metrics_path?: string;
  readonly static_configs?: ReadonlyArray<{ readonly targets: string[]; readonly labels?: Record<string, string> }>;
  readonly dns_sd_configs?: ReadonlyArray<{ readonly names: string[]; readonly port?: number }>;
  readonly relabel_configs?: ReadonlyArray<{ readonly target_label?: string; readonly replacement?: string }>;
}

/** The jobs of prometheus.yml, whether they list their targets or find them through DNS. */
async function scrapeJobs(): Promise<ScrapeJob[]> {
  const text = await Bun.file(`${folder}prometheus.yml`).text();
  const { scrape_configs: configs } = Bun.YAML.parse(text) as { scrape_configs: ScrapeConfig[] };
  return configs.map((job) => {
    const relabelled = job.relabel_configs?.find((r) => r.target_label === "process_type")?.replacement;
    const labelled = job.static_configs?.find((s) => s.labels?.process_type)?.labels?.process_type;
    return {
      name: job.job_name,
      processType: relabelled ?? labelled,
      ports: [
        ...(job.static_configs ?? []).flatMap((s) => s.targets.map((t) => t.split(":").at(-1) ?? "")),
        ...(job.dns_sd_configs ?? []).map((d) => String(d.port ?? "")),
      ],
      path: job.metrics_path ?? "/metrics",
    };
  });
}

/** The series name a query selects, resolved to the metric that exposes it (`x_bucket` is histogram `x`'s). */
function metricOf(name: string, registered: ReadonlyMap<string, Registration>): Registration | undefined {
  const direct = registered.get(name);
  if (direct) return direct;
  const base = registered.get(name.replace(/_(bucket|sum|count)$/, ""));
  return base?.kind === "histogram" ? base : undefined;
}

let processes: readonly ProcessScrape[];
let registered: ReadonlyMap<string, Registration>;
let recorded: ReadonlyMap<string, Rule>;

beforeAll(async () => {
  ({ processes, registered } = await scrapeEveryProcess());
  recorded = new Map((await rules()).flatMap((r) => (r.record ? [[r.record, r] as const] : [])));
}, 60_000);

/** The label names a query may use: those of the metrics it selects (recorded ones followed to their rule). */
function labelsAvailable(expr: string, seen = new Set<string>()): Set<string> {
  const labels = new Set(TARGET_LABELS);
  for (const { name } of reads(expr).selectors) {
    if (name === undefined || seen.has(name)) continue;
    seen.add(name);
    const rule = recorded.get(name);
    if (rule) for (const label of labelsAvailable(rule.expr, seen)) labels.add(label);
    const metric = metricOf(name, registered);
    for (const label of metric?.labelNames ?? []) labels.add(stored(label));
    if (metric?.kind === "histogram" && name.endsWith("_bucket")) labels.add("le");
  }
  return labels;
}

describe("deploy/monitoring", () => {
  test("the dashboard has the panels operators look for first, each with its own id and place", async () => {
    const { panels } = await dashboard();
    const titles = new Set(panels.map((p) => p.title));
    for (const title of [
      "Request rate",
      "Error rate (5xx share)",
      "p95 latency",
      "SLO burn rate (1 h)",
      "Queue depth",
      "Oldest message age",
      "Jobs handled by outcome",
      "Scheduled runs by outcome",
      "Model calls by outcome",
      "LLM token rate",
      "Circuit breakers",
      "Pool connections",
      "Event-loop delay",
    ]) {
      expect({ title, found: titles.has(title) }).toEqual({ title, found: true });
    }
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    // Two panels in one grid cell hide each other in Grafana.
    const cells = new Map<string, string>();
    for (const { title, gridPos: g } of panels) {
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect({ cell: `${x},${y}`, taken: cells.get(`${x},${y}`), by: title }).toEqual({
            cell: `${x},${y}`,
            taken: undefined,
            by: title,
          });
          cells.set(`${x},${y}`, title);
        }
      }
    }
  });

  test("the plugins started for this are every plugin of the repository", async () => {
    const started = new Set(everyPlugin(new MetricRegistry()).map((p) => p.name));
    const folders = [...new Bun.Glob("*/mod.ts").scanSync(new URL("../../", import.meta.url).pathname)];
    const missing = folders.map((f) => f.split("/")[0] as string).filter((name) => !started.has(name));
    expect(folders.length).toBeGreaterThan(5);
    // A new plugin belongs in everyPlugin (testdata/processes.ts), so its metrics are held here too.
    expect(missing).toEqual([]);
  });

  test("every series a panel or a rule queries is one a plugin registers, or one rules.yml records", async () => {
    const unknown: string[] = [];
    for (const { where, expr } of [...(await dashboardQueries()), ...(await ruleQueries())]) {
      for (const { name } of reads(expr).selectors) {
        if (name === "up") continue; // Prometheus writes it for every target
        if (name === undefined || (!metricOf(name, registered) && !recorded.has(name)))
          unknown.push(`${where}: ${name}`);
      }
    }
    expect(registered.size).toBeGreaterThan(30);
    expect(unknown).toEqual([]);
  });

  test("every label a query matches or groups on is a label of the metrics it reads", async () => {
    const wrong: string[] = [];
    for (const { where, expr } of [...(await dashboardQueries()), ...(await ruleQueries())]) {
      const available = labelsAvailable(expr);
      const { selectors, grouping } = reads(expr);
      // A target label the metric itself also sets means the scrape job, not the metric's label.
      const clashing = new Set(
        selectors.flatMap(({ name }) => (name ? (metricOf(name, registered)?.labelNames ?? []) : [])),
      );
      for (const label of [...selectors.flatMap((s) => s.labels), ...grouping]) {
        if (!available.has(label)) wrong.push(`${where}: ${label}`);
        else if (TARGET_LABELS.has(label) && clashing.has(label))
          wrong.push(`${where}: ${label} (use ${stored(label)})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("every metric a plugin registers is on at least one panel, but the retired duplicates", async () => {
    const shown = new Set<string>();
    for (const { expr } of await dashboardQueries()) {
      for (const { name } of reads(expr).selectors) {
        const metric = name === undefined ? undefined : metricOf(name, registered);
        if (metric) shown.add(metric.name);
      }
    }
    const missing = [...registered.keys()].filter((name) => !shown.has(name) && !(name in RETIRED));
    expect(missing).toEqual([]);
  });

  test("the retired chatMetrics duplicates are queried nowhere, and their GenAI successors are", async () => {
    const queried = new Set(
      [...(await dashboardQueries()), ...(await ruleQueries())].flatMap(({ expr }) =>
        reads(expr).selectors.flatMap(({ name }) => (name ? [metricOf(name, registered)?.name ?? name] : [])),
      ),
    );
    for (const [retired, successor] of Object.entries(RETIRED)) {
      // When the llm plugin stops recording one, drop it from RETIRED.
      expect({ retired, stillRegistered: registered.has(retired) }).toEqual({ retired, stillRegistered: true });
      expect({ retired, queried: queried.has(retired) }).toEqual({ retired, queried: false });
      expect({ successor, queried: queried.has(successor) }).toEqual({ successor, queried: true });
    }
  });

  test("the kernel's metricNames are registered by a plugin, and on the dashboard unless retired", async () => {
    const shown = new Set(
      (await dashboardQueries()).flatMap(({ expr }) =>
        reads(expr).selectors.flatMap(({ name }) => (name ? [metricOf(name, registered)?.name ?? name] : [])),
      ),
    );
    const names = Object.values(metricNames);
    expect(names.filter((name) => !registered.has(name))).toEqual([]);
    expect(names.filter((name) => !shown.has(name) && !(name in RETIRED))).toEqual([]);
  });

  test("every dashboard query follows the process-type picker", async () => {
    const unfiltered = (await dashboardQueries()).flatMap(({ where, expr }) =>
      reads(expr)
        .selectors.filter((s) => s.name !== undefined && !recorded.has(s.name) && !s.labels.includes("process_type"))
        .map((s) => `${where}: ${s.name}`),
    );
    expect(unfiltered).toEqual([]);
    // "All" is every process type, not every series: those without one (relayed over OTLP by the
    // collector's own job) would count twice.
    const { templating } = (await Bun.file(`${folder}grafana-dashboard.json`).json()) as {
      templating: { list: Array<{ name: string; allValue?: string; definition?: string }> };
    };
    const picker = templating.list.find((v) => v.name === "process_type");
    expect(picker).toMatchObject({ allValue: ".+", definition: "label_values(app_info, process_type)" });
  });

  test("the scrape config scrapes each process type, labelled, where it serves /metrics by default", async () => {
    const jobs = await scrapeJobs();
    const app = createApp({
      name: "agent",
      plugins: everyPlugin(new MetricRegistry()),
      env: { ENVIRONMENT: "testing" },
    });
    for (const served of processes) {
      // The settings of the plugin whose listener answered /metrics there, at their defaults.
      const entries = await app.inspectConfig({ process: served.type });
      const port = entries.filter((e) => e.name.endsWith("PORT") && e.plugins.includes(served.server));
      const path = entries.find((e) => e.name === "METRICS_PATH")?.value;
      expect(served.status).toBe(200);
      expect(port).toHaveLength(1);
      const scraping = jobs.filter((job) => job.processType === served.type);
      expect({ type: served.type, jobs: scraping.length }).toEqual({ type: served.type, jobs: 1 });
      const job = scraping[0];
      expect({ type: served.type, path: job?.path, ports: job?.ports }).toEqual({
        type: served.type,
        path,
        ports: job?.ports.map(() => port[0]?.value ?? "") ?? [],
      });
      expect(job?.ports.length).toBeGreaterThan(0);
    }
  });

  test("the rules' unit tests feed series the plugins register, with their labels", async () => {
    const text = await Bun.file(`${folder}rules.test.yml`).text();
    const tests = (Bun.YAML.parse(text) as { tests: Array<{ input_series: Array<{ series: string }> }> }).tests;
    const wrong: string[] = [];
    for (const { series } of tests.flatMap((t) => t.input_series)) {
      const { selectors } = reads(series);
      const name = selectors[0]?.name;
      const metric = name === undefined ? undefined : metricOf(name, registered);
      if (name === "up") continue;
      if (!metric) wrong.push(`${series}: not registered`);
      for (const label of selectors[0]?.labels ?? []) {
        const known = TARGET_LABELS.has(label) || metric?.labelNames.some((l) => stored(l) === label) || label === "le";
        if (!known) wrong.push(`${series}: label ${label}`);
      }
    }
    expect(tests.length).toBeGreaterThan(5);
    expect(wrong).toEqual([]);
  });

  test.if(Boolean(Bun.which("promtool")))("every dashboard query is valid PromQL (checked by promtool)", async () => {
    const queries = await dashboardQueries();
    const rules = queries.map((q, i) => ({
      record: `dashboard:query_${i}`,
      expr: q.expr.replaceAll("$__rate_interval", "5m").replaceAll("$process_type", ".+"),
    }));
    const dir = await mkdtemp(join(tmpdir(), "dashboard-"));
    try {
      const file = join(dir, "queries.yml");
      await writeFile(file, JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
      const child = Bun.spawn(["promtool", "check", "rules", file], { stdout: "pipe", stderr: "pipe" });
      const output = (await new Response(child.stdout).text()) + (await new Response(child.stderr).text());
      expect({ code: await child.exited, output }).toMatchObject({ code: 0 });
      expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
