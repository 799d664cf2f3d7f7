#!/usr/bin/env bash
# Runs the portability smoke test under Bun, Deno and Node 20 (through tsx).
# Prints one "runtime: N passed, N failed" line per runtime; exits non-zero if any runtime failed.
set -u
cd "$(dirname "$0")/../.."
status=0
run() {
  local name=$1; shift
  local out
  if out=$("$@" test/portability/smoke.ts 2>&1); then
    printf '%s\n' "$out" | sed "s/^/  [$name] /"
  else
    printf '%s\n' "$out" | sed "s/^/  [$name] /"
    echo "portability: $name failed"
    status=1
  fi
}
run bun bun
run deno deno run --allow-read --allow-env --allow-net=127.0.0.1 --quiet
run node ./node_modules/.bin/tsx
exit $status
