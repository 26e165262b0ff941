#!/usr/bin/env bash
# run_fuzzer.sh: runs one libFuzzer harness for a fixed budget as a ctest test. The corpus is
# copied from the committed seeds into a scratch directory first, so fuzzing never writes to
# the source tree; crash inputs land in the scratch directory too. Exit status is libFuzzer's:
# non-zero on any crash, sanitizer report, leak, timeout or out-of-memory.
#   run_fuzzer.sh BINARY SEED_DIR WORK_DIR SECONDS RUNS [DICT]
set -euo pipefail

binary=$1 seeds=$2 work=$3 seconds=$4 runs=$5 dict=${6:-}

rm -rf "$work"
mkdir -p "$work/corpus"
if [ -d "$seeds" ]; then
    cp -R "$seeds/." "$work/corpus/"
fi

args=(-max_total_time="$seconds" -runs="$runs" -rss_limit_mb=2048 -timeout=10
      -print_final_stats=1 -artifact_prefix="$work/")
if [ -n "$dict" ]; then
    args+=(-dict="$dict")
fi
echo "run_fuzzer.sh: $(basename "$binary") for at most ${seconds} s / ${runs} inputs," \
     "$(find "$work/corpus" -type f | wc -l) seed files"
cd "$work"
exec "$binary" "${args[@]}" "$work/corpus"
