#!/usr/bin/env bash
# Runs the portability smoke test, and the otel plugin's checks of the OpenTelemetry API bridge
# (context across await, timers and a queue hop), under Bun, Deno and Node 20 (through tsx).
# Prints one "N passed, N failed" line per file and runtime; exits non-zero if any run failed.
set -u
cd "$(dirname "$0")/../.."
status=0
run() {
  local name=$1 file=$2; shift 2
  local out
  if out=$("$@" "$file" 2>&1); then
    printf '%s\n' "$out" | sed "s/^/  [$name] /"
  else
    printf '%s\n' "$out" | sed "s/^/  [$name] /"
    echo "portability: $name failed on $file"
    status=1
  fi
}
for file in test/portability/smoke.ts plugins/otel/test/portability.ts; do
  run bun "$file" bun
  run deno "$file" deno run --allow-read --allow-env --allow-net=127.0.0.1 --quiet
  run node "$file" ./node_modules/.bin/tsx
done
exit $status
