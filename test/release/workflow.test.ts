/**
 * The release workflow (.github/workflows/release.yml) cannot run here: it is checked to be valid
 * YAML whose jobs run in order (test, image, deploy) and whose steps call the project's own
 * scripts, and the script that does the rollout (deploy/k8s/release.sh) runs against a kubectl
 * stand-in that renders with test/release/kustomize.ts and records every other call.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";

const root = join(import.meta.dir, "..", "..");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
}
interface Job {
  needs?: string | string[];
  steps: Step[];
  environment?: string;
}
const workflow = parse(readFileSync(join(root, ".github", "workflows", "release.yml"), "utf8")) as {
  name: string;
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
};
const runs = (job: string) => (workflow.jobs[job]?.steps ?? []).map((s) => s.run ?? "").join("\n");

describe("release.yml", () => {
  test("is valid YAML with jobs test, then image, then deploy", () => {
    expect(workflow.name).toBe("release");
    expect(Object.keys(workflow.jobs)).toEqual(["test", "image", "deploy"]);
    expect(workflow.jobs.image?.needs).toBe("test");
    expect(workflow.jobs.deploy?.needs).toBe("image");
    for (const job of Object.values(workflow.jobs)) {
      for (const step of job.steps) expect(Boolean(step.run) !== Boolean(step.uses)).toBe(true);
    }
  });

  test("its steps call the project's own scripts, which exist", () => {
    expect(runs("test")).toContain("bash .ci/run");
    expect(runs("image")).toContain("bun run build");
    expect(runs("image")).toContain("docker buildx build -f Containerfile");
    expect(runs("deploy")).toContain("bash deploy/k8s/release.sh");
    const scripts = (
      JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.build).toBe("bun build/build.ts");
    for (const file of [".ci/run", "deploy/k8s/release.sh", "Containerfile"])
      expect(existsSync(join(root, file))).toBe(true);
  });

  test("the image is tagged with the git revision, on a base image pinned by digest", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's own expansion
    expect(runs("image")).toContain('--tag "${IMAGE}:${GITHUB_SHA}"');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's own expansion
    expect(runs("image")).toContain('--build-arg "GIT_REVISION=${GITHUB_SHA}"');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's own expansion
    expect(runs("image")).toContain("oven/bun:${BUN_VERSION}@${DIGEST}");
    const containerfile = readFileSync(join(root, "Containerfile"), "utf8");
    // Both stages on the one pinned image, whose version is the Bun the project runs.
    expect(containerfile.match(/^FROM \$\{BUN_IMAGE\} AS \w+$/gm)?.length).toBe(2);
    expect(containerfile).toContain("ARG BUN_IMAGE=docker.io/oven/bun:1.4.4");
    expect(readFileSync(join(root, ".ci", "run"), "utf8")).toContain("BUN_VERSION=1.4.4");
    for (const line of [
      "STOPSIGNAL SIGTERM",
      "USER bun",
      'HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["bun", "/app/dist/healthcheck.js"]',
    ]) {
      expect(containerfile).toContain(line);
    }
  });
});

describe("deploy/k8s/release.sh, against a kubectl stand-in", () => {
  const bin = mkdtempSync(join(tmpdir(), "twelvefold-kubectl-"));
  const log = join(bin, "calls.jsonl");
  writeFileSync(
    join(bin, "kubectl"),
    `#!/usr/bin/env bun
import { appendFileSync, readFileSync } from "node:fs";
import { stringify } from "yaml";
import { kustomize } from ${JSON.stringify(join(import.meta.dir, "kustomize.ts"))};
const args = process.argv.slice(2);
if (args[0] === "kustomize") {
  process.stdout.write(kustomize(args[1]).map((m) => stringify(m)).join("---\\n"));
  process.exit(0);
}
const at = args.indexOf("-f");
const images = at >= 0 ? [...new Set(readFileSync(args[at + 1], "utf8").match(/image: .+/g) ?? [])] : [];
appendFileSync(${JSON.stringify(log)}, JSON.stringify({ args, images }) + "\\n");
process.exit(args[0] === "wait" ? Number(process.env.FAKE_WAIT_CODE ?? 0) : 0);
`,
  );
  chmodSync(join(bin, "kubectl"), 0o755);
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  const release = (env: Record<string, string> = {}) => {
    rmSync(log, { force: true });
    const run = Bun.spawnSync(
      ["bash", join(root, "deploy", "k8s", "release.sh"), "staging", "ghcr.io/acme/agent:abc123"],
      {
        cwd: root,
        env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME ?? "", ...env },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const calls = existsSync(log)
      ? readFileSync(log, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { args: string[]; images: string[] })
      : [];
    return { code: run.exitCode, calls, stderr: run.stderr.toString() };
  };
  const summary = (args: string[]) => {
    const selector = args[args.indexOf("-l") + 1];
    return [args[0], args[0] === "rollout" || args[0] === "wait" ? args.at(-2) : selector].join(" ");
  };

  test("config first, then the migrate Job alone and a wait for it, then the rest and a wait on each rollout", () => {
    const { code, calls, stderr } = release();
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(calls.map((c) => summary(c.args))).toEqual([
      "apply !app.kubernetes.io/component",
      "delete app.kubernetes.io/component=migrate",
      "apply app.kubernetes.io/component=migrate",
      "wait job/agent-migrate",
      "apply app.kubernetes.io/component,app.kubernetes.io/component!=migrate",
      "rollout deployment/agent-web",
      "rollout deployment/agent-worker",
      "rollout deployment/agent-scheduler",
    ]);
    expect(calls[3]?.args).toContain("job/agent-migrate");
    expect(calls[3]?.args).toContain("agent-staging");
    // Every container runs the image of this release, tagged with its revision.
    expect(calls[2]?.images).toEqual(["image: ghcr.io/acme/agent:abc123"]);
  });

  test("a migration that does not complete stops the release before anything rolls out, exit 1", () => {
    const { code, calls, stderr } = release({ FAKE_WAIT_CODE: "1" });
    expect(code).toBe(1);
    expect(stderr).toContain("the migration did not complete; nothing was rolled out");
    expect(calls.map((c) => c.args[0])).toEqual(["apply", "delete", "apply", "wait", "logs"]);
  });
});
