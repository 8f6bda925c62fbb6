#!/usr/bin/env bash
# bench/emulate.bench.sh - ns per instruction of emulate.c's hand decoder
# (decode + execute) against Zydis (decode only) on the same epilogue
# bytes (bench/emulate_decode.c).  Prints "| benchmark | measured | target |" rows.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$top/bench/out/emulate
mkdir -p "$out"
gcc -D_GNU_SOURCE -Iapplier -Ibuild/include/runtime -std=gnu11 -O2 -o "$out/emulate_decode" \
  bench/emulate_decode.c build/obj/applier/emulate.o build/obj/applier/pages.o -lZydis
"$out/emulate_decode" "${ROUNDS:-200000}"
