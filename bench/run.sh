#!/usr/bin/env bash
# make bench: run every bench/*.bench.sh and print one table.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
mkdir -p bench/out
printf '| benchmark | measured | target |\n|---|---|---|\n'
for b in bench/*.bench.sh; do
  [[ -f $b ]] || continue
  bash "$b" 2>bench/out/"$(basename "$b" .bench.sh)".log || echo "| $(basename "$b") | FAILED (see bench/out) | |"
done
