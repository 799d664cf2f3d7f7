#!/usr/bin/env bash
# Rolls the sample agent out to one environment: deploy/k8s/release.sh ENVIRONMENT IMAGE:TAG
#   1. renders overlays/ENVIRONMENT with the image set to IMAGE:TAG (kubectl kustomize);
#   2. applies the shared config (ConfigMap, ServiceAccount), then the migrate Job alone, replacing
#      the previous one (Jobs are immutable), and waits for it to complete;
#   3. applies everything else and waits on the rollout of web, worker and scheduler.
# A failed or stuck migration stops the release before any pod runs the new code.
# The agent-secrets Secret must exist in the namespace (deploy/k8s/README.md). Needs kubectl 1.27+.
set -euo pipefail
environment=${1:?usage: deploy/k8s/release.sh ENVIRONMENT IMAGE:TAG}
image=${2:?usage: deploy/k8s/release.sh ENVIRONMENT IMAGE:TAG}
timeout=${ROLLOUT_TIMEOUT:-600s}
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$here/overlays/$environment" ] || { echo "release: no overlay \"$environment\" in $here/overlays" >&2; exit 2; }
case "$image" in *:*) ;; *) echo "release: \"$image\" has no tag" >&2; exit 2 ;; esac

work=$(mktemp -d "$here/.release-XXXXXX")
trap 'rm -rf "$work"' EXIT
cat > "$work/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../overlays/$environment
images:
  - name: twelvefold/agent
    newName: ${image%:*}
    newTag: ${image##*:}
YAML
kubectl kustomize "$work" > "$work/release.yaml"
namespace=$(sed -n 's/^  namespace: //p' "$work/release.yaml" | head -n 1)
echo "release: $image to $environment (namespace $namespace)"

kubectl apply -f "$work/release.yaml" -l '!app.kubernetes.io/component'
kubectl delete -f "$work/release.yaml" -l app.kubernetes.io/component=migrate --ignore-not-found --wait=true
kubectl apply -f "$work/release.yaml" -l app.kubernetes.io/component=migrate
if ! kubectl wait --namespace "$namespace" --for=condition=complete job/agent-migrate --timeout="$timeout"; then
  kubectl logs --namespace "$namespace" job/agent-migrate --tail=100 || true
  echo "release: the migration did not complete; nothing was rolled out" >&2
  exit 1
fi

kubectl apply -f "$work/release.yaml" -l 'app.kubernetes.io/component,app.kubernetes.io/component!=migrate'
for deployment in agent-web agent-worker agent-scheduler; do
  kubectl rollout status --namespace "$namespace" "deployment/$deployment" --timeout="$timeout"
done
echo "release: $image is out in $environment"
