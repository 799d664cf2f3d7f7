/**
 * The subset of kustomize that deploy/k8s uses, so the manifests can be rendered and checked on a
 * machine without kubectl (CI installs only Debian's packages, and kubectl is not one). Supported:
 * `resources` (files and folders with a kustomization.yaml), `namespace`, `images` (newName,
 * newTag, digest), `replicas`, and `patches` given by `path` (a strategic merge patch that names its
 * target by kind and metadata.name; containers, env, ports and volumes merge by name). Anything else
 * in a kustomization.yaml is refused, so a manifest that starts using more of kustomize fails
 * here instead of being rendered wrong. Where kubectl is installed, the test compares this
 * rendering with `kubectl kustomize`.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";

/** One Kubernetes object as parsed from YAML. */
export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

type Json = Record<string, unknown>;

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"]);
/** Lists a strategic merge patch merges item by item, by this key, instead of replacing. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: "name",
  initContainers: "name",
  env: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  ports: "containerPort",
};

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Every document of a YAML file. */
export function readManifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map(String).join("; ")}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((doc): doc is Manifest => doc !== null);
}

/** A strategic merge of `patch` onto `target` (a copy; neither is changed). */
export function strategicMerge(target: unknown, patch: unknown, key = ""): unknown {
  if (patch === null) return undefined;
  if (Array.isArray(patch)) {
    const mergeKey = MERGE_KEYS[key];
    if (!mergeKey || !Array.isArray(target)) return structuredClone(patch);
    const out = structuredClone(target) as Json[];
    for (const item of patch as Json[]) {
      const at = out.findIndex((existing) => existing[mergeKey] === item[mergeKey]);
      if (at < 0) out.push(structuredClone(item));
      else out[at] = strategicMerge(out[at], item) as Json;
    }
    return out;
  }
  if (!isObject(patch) || !isObject(target)) return structuredClone(patch);
  const out: Json = structuredClone(target);
  for (const [name, value] of Object.entries(patch)) {
    const merged = strategicMerge(out[name], value, name);
    if (merged === undefined) delete out[name];
    else out[name] = merged;
  }
  return out;
}

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
  replicas?: Array<{ name: string; count: number }>;
  patches?: Array<{ path?: string }>;
}

/** The containers of a workload's pod template, or of a Pod. */
function containers(manifest: Manifest): Json[] {
  const spec = manifest.spec as Json | undefined;
  const template = (spec?.jobTemplate as Json | undefined)?.spec ?? spec;
  const pod = ((template as Json | undefined)?.template as Json | undefined)?.spec as Json | undefined;
  return [...((pod?.containers as Json[]) ?? []), ...((pod?.initContainers as Json[]) ?? [])];
}

/** Renders the kustomization in `dir` as `kubectl kustomize dir` would, for the supported subset. */
export function kustomize(dir: string): Manifest[] {
  const file = join(dir, "kustomization.yaml");
  const spec = readManifests(file)[0] as unknown as Kustomization & Json;
  const unsupported = Object.keys(spec).filter((k) => !SUPPORTED.has(k));
  if (unsupported.length > 0)
    throw new Error(`${file}: unsupported by test/release/kustomize.ts: ${unsupported.join(", ")}`);
  let out: Manifest[] = [];
  for (const resource of spec.resources ?? []) {
    const path = join(dir, resource);
    out.push(...(statSync(path).isDirectory() ? kustomize(path) : readManifests(path)));
  }
  for (const patch of spec.patches ?? []) {
    if (!patch.path) throw new Error(`${file}: only patches given by path are supported`);
    for (const doc of readManifests(join(dir, patch.path))) {
      const at = out.findIndex((m) => m.kind === doc.kind && m.metadata.name === doc.metadata.name);
      if (at < 0) throw new Error(`${file}: patch ${patch.path} matches no ${doc.kind} "${doc.metadata.name}"`);
      out[at] = strategicMerge(out[at], doc) as Manifest;
    }
  }
  for (const { name, count } of spec.replicas ?? []) {
    const target = out.find((m) => m.metadata.name === name && isObject(m.spec) && "replicas" in m.spec);
    if (!target) throw new Error(`${file}: replicas for "${name}" matches no workload`);
    (target.spec as Json).replicas = count;
  }
  for (const image of spec.images ?? []) {
    for (const container of out.flatMap(containers)) {
      const current = String(container.image);
      const bare = current.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
      if (bare !== image.name) continue;
      const name = image.newName ?? bare;
      container.image = image.digest
        ? `${name}@${image.digest}`
        : `${name}:${image.newTag ?? (current.split(":")[1] || "latest")}`;
    }
  }
  if (spec.namespace) {
    out = out.map((m) => ({ ...m, metadata: { ...m.metadata, namespace: spec.namespace as string } }));
  }
  return out;
}

/** The manifests sorted by kind and name, for comparing two renderings. */
export function sorted(manifests: readonly Manifest[]): Manifest[] {
  return [...manifests].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
}

/** The folder of this repository's Kubernetes manifests. */
export const k8sDir = join(dirname(import.meta.dir), "..", "deploy", "k8s");
