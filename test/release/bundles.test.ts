/**
 * The build stage's claims, on the bundles a release runs: one bytecode bundle per process type
 * with its manifest, each starting, answering its probes and draining on SIGTERM; and an SDK whose
 * feature is off is never evaluated. The module lists come from a traced build (build/trace.ts: a
 * marker appended to every module before bundling, which runs only when that module's body runs,
 * plus the module loader's own list for what is loaded from outside the bundle). Each feature is
 * also turned on once, so a marker that never fires would fail the test, not pass it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildManifest, type BundleType, buildBundles, describeManifest, root } from "../../build/build.ts";
import { type SmokeResult, smokeBundle } from "../../build/smoke.ts";
import { bundledModules, packageOf, type TraceReport } from "../../build/trace.ts";
import { reachable } from "../services.ts";
import { runnableTypes } from "./app.ts";
import { tracedDist } from "./dist.ts";

let dir: string;
let manifest: BuildManifest;
/** Answers 200 to anything: an OTLP collector and an OpenAI-compatible server that are never asked much. */
let sink: ReturnType<typeof Bun.serve>;

const runnable = runnableTypes as readonly BundleType[];

/** A feature, the packages that only it may load, and the settings that turn it on. */
interface Feature {
  readonly name: string;
  readonly owns: (pkg: string) => boolean;
  readonly on: () => Record<string, string>;
  /** Settings that keep it off where the default would turn it on (PGlite without DATABASE_URL). */
  readonly off?: Record<string, string>;
  /** The process type that uses it, where that is not web (the model runs where runs run: the worker). */
  readonly type?: BundleType;
  /** Requests that make the process use it, once ready. */
  readonly requests?: readonly string[];
}

const features: Feature[] = [
  {
    name: "OTLP export",
    owns: (pkg) => (pkg.startsWith("@opentelemetry/") && pkg !== "@opentelemetry/api") || pkg === "protobufjs",
    on: () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}` }),
    // The exporter loads at the first export: a traced request, flushed as the process stops.
    requests: ["/no-such-route"],
  },
  {
    name: "OpenAI",
    owns: (pkg) => pkg === "openai",
    type: "worker",
    on: () => ({ OPENAI_API_KEY: "sk-test-not-a-key", OPENAI_BASE_URL: `http://127.0.0.1:${sink.port}/v1` }),
  },
  {
    name: "Redis",
    owns: (pkg) => pkg === "redis" || pkg.startsWith("@redis/") || pkg === "cluster-key-slot",
    on: () => ({ REDIS_URL: "redis://127.0.0.1:6379", REDIS_KEY_PREFIX: `tf-bundles-${process.pid}:` }),
  },
  {
    name: "PGlite",
    owns: (pkg) => pkg === "@electric-sql/pglite",
    on: () => ({}),
    off: { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/test" },
  },
];

/** Runs a traced bundle and returns the packages it evaluated, with the smoke result. */
async function traced(
  type: BundleType,
  env: Record<string, string>,
  requests: readonly string[] = [],
): Promise<{ result: SmokeResult; packages: Set<string> }> {
  const file = join(dir, `${type}-${crypto.randomUUID()}.json`);
  const result = await smokeBundle(dir, type, {
    env: { ...env, TWELVEFOLD_TRACE_FILE: file },
    bunArgs: ["--preload", join(root, "build", "trace-preload.ts")],
    requests,
  });
  const report = (await Bun.file(file).json()) as TraceReport;
  const packages = new Set<string>();
  for (const path of [...report.bundled, ...report.loaded]) {
    const pkg = packageOf(path);
    if (pkg) packages.add(pkg);
  }
  return { result, packages };
}

const offEnv = () => Object.assign({}, ...features.map((f) => f.off ?? {})) as Record<string, string>;

beforeAll(async () => {
  sink = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("{}", { status: 200 }) });
  ({ dir, manifest } = await tracedDist());
}, 120_000);

afterAll(() => {
  sink.stop(true);
});

describe("the build", () => {
  test("emits one bytecode bundle per process type and a manifest naming version, revision, lockfile and sizes", async () => {
    const lock = new Bun.CryptoHasher("sha256").update(await Bun.file(join(root, "bun.lock")).bytes()).digest("hex");
    expect(manifest.lockfile.sha256).toBe(lock);
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.revision).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(await Bun.file(join(dir, "manifest.json")).json()).toEqual(JSON.parse(JSON.stringify(manifest)));
    for (const type of ["web", "worker", "scheduler", "admin"] as const) {
      const bundle = manifest.bundles[type];
      expect(bundle.bytes).toBe(Bun.file(join(dir, bundle.file)).size);
      expect(bundle.bytecodeBytes).toBeGreaterThan(0);
      // Bun runs the bytecode only for a file that says so on its first line.
      expect((await Bun.file(join(dir, bundle.file)).text()).slice(0, 40)).toContain("@bytecode");
    }
    expect(describeManifest(manifest, dir)).toContain("web.js");
  });

  test("openai, which only a worker with OpenAI settings loads, is a lazy chunk of its own and in no bundle", async () => {
    const chunk = manifest.chunks.openai;
    expect(chunk?.file).toBe("lazy/openai.js");
    const held = (file: string) =>
      Bun.file(join(dir, file))
        .text()
        .then((t) => new Set(bundledModules(t).map(packageOf)));
    expect((await held(chunk?.file as string)).has("openai")).toBe(true);
    for (const type of ["web", "worker", "scheduler", "admin"] as const) {
      expect({ type, openai: (await held(manifest.bundles[type].file)).has("openai") }).toEqual({
        type,
        openai: false,
      });
    }
  });

  test("GIT_REVISION names the revision where there is no git checkout", async () => {
    const other = mkdtempSync(join(tmpdir(), "twelvefold-rev-"));
    try {
      const built = await buildBundles({ outdir: other, revision: "0123456789abcdef0123456789abcdef01234567" });
      expect(built.revision).toBe("0123456789abcdef0123456789abcdef01234567");
      expect(built.dirty).toBe(false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("SDKs whose feature is off are never evaluated", () => {
  test.each(runnable.map((t) => [t]))(
    "%s with every feature off: runs as in the smoke, exits 0, and evaluates no feature's SDK",
    async (type) => {
      const { result, packages } = await traced(type, offEnv());
      expect(result.problems).toEqual([]);
      for (const feature of features) {
        const loaded = [...packages].filter(feature.owns);
        expect({ feature: feature.name, loaded }).toEqual({ feature: feature.name, loaded: [] });
      }
      // The trace saw the app itself: the kernel's and hono's modules ran.
      expect(packages.has("hono")).toBe(true);
    },
    60_000,
  );

  test("each feature a bundle holds is evaluated once it is turned on, in the process type that uses it", async () => {
    const shown: string[] = [];
    let checked = 0;
    for (const feature of features) {
      const type = feature.type ?? "web";
      if (!runnable.includes(type)) {
        shown.push(`${feature.name}: ${type} does not start yet`);
        continue;
      }
      // The bundle and the lazy chunks (dist/lazy/) it imports at run time.
      const files = [manifest.bundles[type].file, ...Object.values(manifest.chunks).map((c) => c.file)];
      const texts = await Promise.all(files.map((file) => Bun.file(join(dir, file)).text()));
      const held = new Set(texts.flatMap((text) => bundledModules(text)).map(packageOf));
      // In the bundle, or beside it: a package the bundle imports at run time (PGlite) is copied to dist/node_modules.
      const holds = [...held, ...manifest.vendored].some((pkg) => pkg !== undefined && feature.owns(pkg));
      if (!holds) {
        shown.push(`${feature.name}: not in the bundle`);
        continue;
      }
      if (feature.name === "Redis" && !(await reachable("127.0.0.1", 6379))) {
        if (process.env.CI === "true") throw new Error("Redis is not answering at 127.0.0.1:6379, and CI=true");
        shown.push("Redis: in the bundle, not checked (no server)");
        continue;
      }
      const env = { ...offEnv(), ...feature.on() };
      for (const name of Object.keys(feature.off ?? {})) delete env[name];
      const { result, packages } = await traced(type, env, feature.requests);
      expect(result.problems).toEqual([]);
      const loaded = [...packages].filter(feature.owns);
      shown.push(`${feature.name}: on in ${type} -> ${loaded.join(", ")}`);
      expect(loaded.length).toBeGreaterThan(0);
      checked++;
    }
    console.info(`features in the bundles: ${shown.join("; ")}`);
    expect(checked).toBeGreaterThan(0);
  }, 120_000);
});
