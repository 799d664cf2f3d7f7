/**
 * deploy/k8s: every overlay renders (test/release/kustomize.ts, checked against `kubectl kustomize`
 * where kubectl is installed), every object validates against the Kubernetes schemas offline
 * (kubernetes-models), and the invariants hold: probes on the right ports and on paths the app
 * serves (the bundle is run with the overlay's ConfigMap and asked), grace periods that cover the
 * preStop sleep, DRAIN_DELAY_MS and SHUTDOWN_TIMEOUT_MS, a preStop that matches DRAIN_DELAY_MS,
 * config from the ConfigMap and secrets from the Secret, never written in a manifest.
 */
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BundleType } from "../../build/build.ts";
import { smokeBundle } from "../../build/smoke.ts";
import { declaredSettings, readTemplate, runnableTypes } from "./app.ts";
import { backing, hasAdminCommand } from "./backing.ts";
import { tracedDist } from "./dist.ts";
import { k8sDir, kustomize, type Manifest, readManifests, sorted, strategicMerge } from "./kustomize.ts";

type Json = Record<string, unknown>;
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  resources?: { requests?: Json; limits?: Json };
  securityContext?: Json;
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  restartPolicy?: string;
}

const overlays = ["development", "staging", "production"] as const;
const rendered = Object.fromEntries(overlays.map((o) => [o, kustomize(join(k8sDir, "overlays", o))])) as Record<
  (typeof overlays)[number],
  Manifest[]
>;

const find = (manifests: Manifest[], kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} "${name}"`);
  return found;
};
const podOf = (m: Manifest): PodSpec => ((m.spec as Json).template as { spec: PodSpec }).spec;
const configOf = (manifests: Manifest[]) => find(manifests, "ConfigMap", "agent-config").data as Record<string, string>;
const workloads = { web: "dist/web.js", worker: "dist/worker.js", scheduler: "dist/scheduler.js" } as const;

test("the strategic merge of a patch merges containers and env by name and replaces other lists", () => {
  const merged = strategicMerge(
    { spec: { containers: [{ name: "a", image: "x", env: [{ name: "A", value: "1" }], args: ["1"] }] } },
    { spec: { containers: [{ name: "a", env: [{ name: "B", value: "2" }], args: ["2"] }, { name: "b" }] } },
  );
  expect(merged).toEqual({
    spec: {
      containers: [
        {
          name: "a",
          image: "x",
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
          ],
          args: ["2"],
        },
        { name: "b" },
      ],
    },
  });
  expect(strategicMerge({ a: 1, b: 2 }, { b: null })).toEqual({ a: 1 });
});

describe.each(overlays)("the %s overlay", (overlay) => {
  const manifests = rendered[overlay];
  const config = configOf(manifests);

  test("renders as kubectl kustomize does, where kubectl is installed", async () => {
    const kubectl = Bun.which("kubectl");
    if (kubectl === null) {
      console.info("kubectl is not installed: rendered by test/release/kustomize.ts alone");
      return;
    }
    const run = Bun.spawnSync([kubectl, "kustomize", join(k8sDir, "overlays", overlay)], { stderr: "pipe" });
    expect(run.stderr.toString()).toBe("");
    const file = join(tmpdir(), `twelvefold-rendered-${overlay}-${process.pid}.yaml`);
    await Bun.write(file, run.stdout);
    try {
      expect(sorted(manifests)).toEqual(sorted(readManifests(file)));
    } finally {
      rmSync(file, { force: true });
    }
  });

  test("every object validates against the Kubernetes schemas", async () => {
    const kinds = manifests.map((m) => m.kind).sort();
    expect(kinds).toEqual([
      "ConfigMap",
      "Deployment",
      "Deployment",
      "Deployment",
      "HorizontalPodAutoscaler",
      "HorizontalPodAutoscaler",
      "Job",
      "PodDisruptionBudget",
      "PodDisruptionBudget",
      "Service",
      "ServiceAccount",
    ]);
    for (const manifest of manifests) {
      const models = (await import(`kubernetes-models/${manifest.apiVersion}`)) as Record<
        string,
        new (
          data: unknown,
        ) => { validate(): void }
      >;
      const Model = models[manifest.kind];
      if (!Model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
      expect(() => new Model(manifest).validate()).not.toThrow();
    }
  });

  test("web, worker and scheduler: one image, probes on their port, preStop = DRAIN_DELAY_MS, grace above the drain", () => {
    const drain = Number(config.DRAIN_DELAY_MS);
    const shutdown = Number(config.SHUTDOWN_TIMEOUT_MS);
    expect(drain).toBeGreaterThan(0);
    const image = podOf(find(manifests, "Deployment", "agent-web")).containers[0]?.image;
    for (const [type, bundle] of Object.entries(workloads)) {
      const pod = podOf(find(manifests, "Deployment", `agent-${type}`));
      const [container] = pod.containers;
      if (!container) throw new Error(`agent-${type} has no container`);
      expect(container.image).toBe(image as string);
      expect(container.args).toEqual([bundle]);
      // Probes on the port the process binds: PORT for web, MANAGEMENT_PORT for worker and scheduler.
      const port = container.ports?.find((p) => p.name === container.livenessProbe?.httpGet.port);
      expect(port?.containerPort).toBe(Number(type === "web" ? config.PORT : config.MANAGEMENT_PORT));
      expect(container.livenessProbe?.httpGet.path).toBe("/livez");
      expect(container.readinessProbe?.httpGet.path).toBe("/readyz");
      expect(container.readinessProbe?.httpGet.port).toBe(port?.name as string);
      const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
      expect(preStop * 1000).toBe(drain);
      expect((pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(preStop * 1000 + drain + shutdown);
      expect(container.resources?.requests?.cpu).toBeDefined();
      expect(container.resources?.requests?.memory).toBeDefined();
      expect(container.resources?.limits?.cpu).toBeDefined();
      expect(container.resources?.limits?.memory).toBeDefined();
      expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    }
  });

  test("the migrate Job runs admin migrate from the same image and config, and never restarts in place", () => {
    const job = find(manifests, "Job", "agent-migrate");
    const pod = podOf(job);
    expect(pod.containers[0]?.args).toEqual(["dist/admin.js", "migrate"]);
    expect(pod.containers[0]?.image).toBe(
      podOf(find(manifests, "Deployment", "agent-web")).containers[0]?.image as string,
    );
    expect(pod.restartPolicy).toBe("Never");
    // The release applies it alone, by this label, before the rollout.
    expect(job.metadata.labels?.["app.kubernetes.io/component"]).toBe("migrate");
    expect(manifests.filter((m) => m.metadata.labels?.["app.kubernetes.io/component"] === "migrate").length).toBe(1);
  });

  test("the Service, the autoscalers and the disruption budgets point at the right pods", () => {
    const labels = (name: string) =>
      ((find(manifests, "Deployment", name).spec as Json).template as { metadata: { labels: Record<string, string> } })
        .metadata.labels;
    const service = find(manifests, "Service", "agent-web").spec as {
      selector: Record<string, string>;
      ports: Array<{ targetPort: string }>;
    };
    expect(labels("agent-web")).toMatchObject(service.selector);
    expect(podOf(find(manifests, "Deployment", "agent-web")).containers[0]?.ports?.map((p) => p.name)).toContain(
      service.ports[0]?.targetPort as string,
    );
    for (const name of ["agent-web", "agent-worker"]) {
      const pdb = find(manifests, "PodDisruptionBudget", name).spec as {
        selector: { matchLabels: Record<string, string> };
      };
      expect(labels(name)).toMatchObject(pdb.selector.matchLabels);
      const hpa = find(manifests, "HorizontalPodAutoscaler", name).spec as {
        scaleTargetRef: { kind: string; name: string };
        minReplicas: number;
        maxReplicas: number;
        metrics: Array<{ type: string; external?: { metric: { name: string } } }>;
      };
      expect(hpa.scaleTargetRef).toMatchObject({ kind: "Deployment", name });
      expect(hpa.minReplicas).toBeLessThanOrEqual(hpa.maxReplicas);
    }
    const worker = find(manifests, "HorizontalPodAutoscaler", "agent-worker").spec as {
      metrics: Array<{ external?: { metric: { name: string; selector: { matchLabels: Record<string, string> } } } }>;
    };
    // On queue depth, for the topic the metrics plugin reports.
    expect(worker.metrics[0]?.external?.metric.name).toBe("queue_depth");
    expect(config.METRICS_QUEUE_TOPICS?.split(",")).toContain(
      worker.metrics[0]?.external?.metric.selector.matchLabels.topic as string,
    );
  });

  test("config from the ConfigMap, secrets from the Secret: no secret setting, or value, in any manifest", async () => {
    const { names, secrets } = await declaredSettings();
    expect(Object.keys(config).filter((name) => !names.has(name))).toEqual([]);
    expect(Object.keys(config).filter((name) => secrets.has(name))).toEqual([]);
    expect(manifests.filter((m) => m.kind === "Secret")).toEqual([]);
    const text = JSON.stringify(manifests);
    expect(text).not.toMatch(/sk-[A-Za-z0-9_-]{8,}|:\/\/[^/"\s:@]+:[^/"\s@]+@/);
    for (const m of manifests.filter((x) => x.kind === "Deployment" || x.kind === "Job")) {
      for (const container of podOf(m).containers) {
        expect(container.envFrom).toEqual([
          { configMapRef: { name: "agent-config" } },
          { secretRef: { name: "agent-secrets" } },
        ]);
        expect((container.env ?? []).filter((e) => e.value !== undefined && secrets.has(e.name))).toEqual([]);
      }
    }
  });

  if (overlay !== "development") {
    test(`agrees with .env.${overlay} on every setting both name`, () => {
      for (const v of readTemplate(`.env.${overlay}`).filter((t) => !t.commented && t.name in config)) {
        expect({ name: v.name, value: config[v.name] }).toEqual({ name: v.name, value: v.value });
      }
    });
  }

  test("the migrate Job, then each workload, run with this overlay's ConfigMap: probe paths served, exit 0", async () => {
    const local = await backing();
    if (!local) return;
    const { dir } = await tracedDist();
    const env = {
      ...config,
      // This machine's ports are shared; the pod's fixed ones become free ones. The Secret's values:
      // this run's database and Redis prefix, and made-up keys.
      PORT: "0",
      MANAGEMENT_PORT: "0",
      HOST: "127.0.0.1",
      MANAGEMENT_HOST: "127.0.0.1",
      DRAIN_DELAY_MS: "0",
      OTEL_EXPORTER_OTLP_ENDPOINT: "",
      SECRET_KEY: "k".repeat(48),
      OPENAI_API_KEY: "sk-test-not-a-key",
      OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
      ...local,
    };
    const job = podOf(find(manifests, "Job", "agent-migrate")).containers[0] as Container;
    if (hasAdminCommand(dir, "migrate")) {
      const migrated = await smokeBundle(dir, "admin", { env, args: job.args.slice(1) });
      expect(migrated.problems).toEqual([]);
    }
    for (const type of Object.keys(workloads).filter((t) => runnableTypes.includes(t as BundleType))) {
      const container = podOf(find(manifests, "Deployment", `agent-${type}`)).containers[0] as Container;
      const paths = [container.livenessProbe, container.readinessProbe, container.startupProbe].map(
        (p) => p?.httpGet.path as string,
      );
      const bundle = /^dist\/(\w+)\.js$/.exec(container.args[0] ?? "")?.[1] as BundleType;
      const result = await smokeBundle(dir, bundle, { env, probes: paths });
      expect({ type, problems: result.problems }).toEqual({ type, problems: [] });
    }
  }, 180_000);
});
