import { describe, expect, test } from "bun:test";
import { scrapeEveryProcess } from "./testdata/processes.ts";
import { scrape } from "./testdata/scrape.ts";

const promtool = Bun.which("promtool");
if (!promtool) {
  if (Bun.env.CI === "true") throw new Error("promtool is not installed, and CI=true (apt-get install -y prometheus)");
  console.warn("skip: promtool is not installed (apt-get install -y prometheus)");
}

async function check(args: string[], input?: string) {
  const child = Bun.spawn([promtool as string, ...args], {
    stdin: input === undefined ? "ignore" : new Blob([input]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code, output: `${stdout}${stderr}`.trim() };
}

describe.if(Boolean(promtool))("promtool", () => {
  test("the /metrics output passes `promtool check metrics`", async () => {
    const { text } = await scrape();
    expect(text).toContain("process_cpu_seconds_total");
    expect(await check(["check", "metrics"], text)).toEqual({ code: 0, output: "" });
  });

  test("every process type's /metrics, with every plugin started, passes `promtool check metrics`", async () => {
    const { processes } = await scrapeEveryProcess();
    expect(processes.map((p) => p.type)).toEqual(["web", "worker", "scheduler"]);
    for (const { type, text } of processes) {
      expect({ type, ...(await check(["check", "metrics"], text)) }).toEqual({ type, code: 0, output: "" });
    }
  }, 60_000);

  const folder = new URL("../../../deploy/monitoring/", import.meta.url).pathname;

  test("the deploy/monitoring scrape config and its rules pass `promtool check config` and `check rules`", async () => {
    const config = await check(["check", "config", `${folder}prometheus.yml`]);
    expect(config.output).toContain("SUCCESS");
    expect(config.code).toBe(0);
    const rules = await check(["check", "rules", `${folder}rules.yml`]);
    expect(rules.output).toContain("SUCCESS");
    expect(rules.code).toBe(0);
  });

  test("the alerts fire, and stay quiet, as their unit tests say (`promtool test rules`)", async () => {
    const result = await check(["test", "rules", `${folder}rules.test.yml`]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.output).toContain("SUCCESS");
  });
});
