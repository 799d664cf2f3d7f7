import { describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scrape } from "./testdata/scrape.ts";

const folder = new URL("../../../deploy/monitoring/", import.meta.url).pathname;

interface Panel {
  readonly title: string;
  readonly type: string;
  readonly targets?: ReadonlyArray<{ readonly expr: string }>;
}

async function dashboardQueries(): Promise<Array<{ panel: string; expr: string }>> {
  const dashboard = (await Bun.file(`${folder}grafana-dashboard.json`).json()) as { panels: Panel[] };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

async function ruleQueries(): Promise<string[]> {
  const text = await Bun.file(`${folder}rules.yml`).text();
  const rules = (Bun.YAML.parse(text) as { groups: Array<{ rules: Array<{ expr: string }> }> }).groups;
  return rules.flatMap((g) => g.rules.map((r) => r.expr));
}

/** Metric names selected in a PromQL expression (a name followed by a label matcher). */
function selected(expr: string): string[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) =>
    (m[1] as string).replace(/_(bucket|sum|count)$/, ""),
  );
}

describe("deploy/monitoring", () => {
  test("the dashboard has the panels operators look for first", async () => {
    const titles = new Set((await dashboardQueries()).map((q) => q.panel));
    for (const title of ["Request rate", "Error rate (5xx share)", "p95 latency", "Queue depth", "LLM token rate"]) {
      expect(titles.has(title)).toBe(true);
    }
  });

  test("every metric the dashboard and the rules query is one the plugins register, with those names", async () => {
    const { text } = await scrape();
    const registered = new Set([...(text ?? "").matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const queried = new Set([
      ...(await dashboardQueries()).flatMap((q) => selected(q.expr)),
      ...(await ruleQueries()).flatMap(selected),
    ]);
    queried.delete("up");
    expect(queried.size).toBeGreaterThan(8);
    expect([...queried].filter((name) => !registered.has(name))).toEqual([]);
  });

  test.if(Boolean(Bun.which("promtool")))("every dashboard query is valid PromQL (checked by promtool)", async () => {
    const queries = await dashboardQueries();
    const rules = queries.map((q, i) => ({
      record: `dashboard:query_${i}`,
      expr: q.expr.replaceAll("$__rate_interval", "5m").replaceAll("$job", ".*"),
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
