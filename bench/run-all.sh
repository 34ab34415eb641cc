#!/usr/bin/env bash
# Runs every benchmark (bench/<name>/run.ts), one after the other, each with its default arguments.
# Every benchmark runs even when an earlier one fails; the script exits 1 if any of them failed.
#
#   bench/run-all.sh            # all of them, in name order
#   bench/run-all.sh bus        # only the named ones
#
# Each benchmark prints its figures and writes bench/results/<name>.json. Kafka and Postgres must be
# running (scripts/infra/kafka.sh start, scripts/infra/postgres.sh start), as for the tests.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# Node 24 from the repository's toolchain when the machine's node is older (as the Makefile does).
if [[ -x "$repo/.hishamos/tools/node/bin/node" ]]; then
  export PATH="$repo/.hishamos/tools/node/bin:$PATH"
fi
export SWC_NODE_PROJECT="$repo/tsconfig.json"

benches=()
if [[ $# -gt 0 ]]; then
  for name in "$@"; do
    if [[ ! -f "bench/$name/run.ts" ]]; then
      echo "run-all: no benchmark bench/$name/run.ts" >&2
      exit 1
    fi
    benches+=("$name")
  done
else
  for script in bench/*/run.ts; do
    [[ -f "$script" ]] || continue
    name="${script#bench/}"
    benches+=("${name%/run.ts}")
  done
fi

if [[ ${#benches[@]} -eq 0 ]]; then
  echo "run-all: no benchmarks found (bench/*/run.ts)" >&2
  exit 1
fi

failed=()
for name in "${benches[@]}"; do
  echo "=== bench/$name ($(date -u +%H:%M:%S))"
  started=$SECONDS
  if node -r @swc-node/register "bench/$name/run.ts"; then
    echo "=== bench/$name: ok in $((SECONDS - started)) s"
  else
    code=$?
    echo "=== bench/$name: FAILED (exit $code) after $((SECONDS - started)) s" >&2
    failed+=("$name")
  fi
  echo
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run-all: ${#failed[@]} of ${#benches[@]} benchmark(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "run-all: all ${#benches[@]} benchmark(s) passed: ${benches[*]}"
