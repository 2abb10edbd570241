#!/usr/bin/env bash
# The whole test suite: host tests (vitest), package build and checks, VM scenarios. Installs what it needs.
# The summary lists each suite's failing tests by name; the last line is the total over every suite:
# "N passed, N failed" (", N skipped").
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
export PATH="$PWD/node_modules/.bin:$PATH"
unset NODE_OPTIONS
results=$(mktemp -d /tmp/luks-ssm-results.XXXXXX)
trap 'rm -rf "$results"' EXIT

step() {
  ((stage_start)) && printf '(%s s)\n' $((SECONDS - stage_start))
  stage_start=$SECONDS
  printf '\n== %s\n' "$*"
}
stage_start=0

step "build"
if ! npm run --silent build; then echo "build: 0 passed, 1 failed" > "$results/build.count"; fi

step "host tests (vitest)"
vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json"
node scripts/count-results.mjs vitest "$results/vitest.json" > "$results/vitest.count"

step "packages (deb, rpm) and their checks"
rm -rf dist
LUKS_SSM_KEEP_DIST=$PWD/dist bash test/packaging/check.sh 2>&1 | tee "$results/packaging.log"
node scripts/count-results.mjs log "$results/packaging.log" > "$results/packaging.count"

step "VM scenarios (QEMU guest, real dm-crypt and systemd)"
deb=$(ls dist/luks-ssm_*_amd64.deb 2>/dev/null | head -n 1)
node test/vm/run.ts ${deb:+--deb "$deb"} 2>&1 | tee "$results/vm.log"
node scripts/count-results.mjs log "$results/vm.log" > "$results/vm.count"

step "total"
node scripts/count-results.mjs sum "$results"/*.count
