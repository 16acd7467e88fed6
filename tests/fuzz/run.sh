#!/usr/bin/env bash
# Runs one fuzz target from a copy of its seed corpus (tests/fuzz/corpus/TARGET),
# so that the inputs it finds never land in the source tree.
#
# usage: tests/fuzz/run.sh BIN_DIR TARGET SECONDS
#        tests/fuzz/run.sh BIN_DIR TARGET --runs N
#
# Exits non-zero on any crash, leak, timeout (10 s per input) or running out
# of memory (2 GiB); the input that did it is kept in BIN_DIR/../fuzz-crashes/TARGET.
# Prints the executions, the time, executions per second and the corpus size
# before and after.
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 BIN_DIR TARGET SECONDS | $0 BIN_DIR TARGET --runs N" >&2
  exit 2
fi
bin_dir="$(cd "$1" && pwd)"
target="$2"
here="$(cd "$(dirname "$0")" && pwd)"
fuzzer="$bin_dir/$target"
seeds="$here/corpus/$target"
if [ ! -x "$fuzzer" ]; then
  echo "$fuzzer: not built (configure with TAILOR_FUZZ=ON, as the asan preset does)" >&2
  exit 2
fi
if [ ! -d "$seeds" ]; then
  echo "$seeds: no seed corpus for $target" >&2
  exit 2
fi
if [ "$3" = "--runs" ]; then
  limit=("-runs=${4:?--runs needs a number}")
else
  limit=("-max_total_time=$3")
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/tailor-fuzz-$target.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp "$seeds"/* "$work/corpus/"
crashes="$(cd "$bin_dir/.." && pwd)/fuzz-crashes/$target"
mkdir -p "$crashes"
before=$(find "$work/corpus" -type f | wc -l)

dictionary=()
if [ -f "$here/dict/$target.dict" ]; then
  dictionary=("-dict=$here/dict/$target.dict")
fi

# Leaks are failures: LeakSanitizer runs at the end and after inputs that
# look like they leak (libFuzzer's -detect_leaks, on by default).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
started=$(date +%s.%N)
status=0
# -entropic=0: libFuzzer 14's entropic schedule spent three quarters of
# rpc_message_fuzz's time updating feature frequencies (perf); without it
# every target ran 2 to 10 times as many inputs a second and grew its corpus
# faster (docs/fuzzing.md).
"$fuzzer" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -entropic=0 \
  -artifact_prefix="$crashes/" "${dictionary[@]}" "$work/corpus" > "$work/log" 2>&1 || status=$?
ended=$(date +%s.%N)
after=$(find "$work/corpus" -type f | wc -l)

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
peak_rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log" | tail -1)
seconds=$(echo "$ended - $started" | bc)
# A sanitizer report is a failure even if the exit status said otherwise.
if grep -q -e '^==[0-9]*==ERROR' -e '^SUMMARY: ' -e 'runtime error:' "$work/log"; then
  [ "$status" -ne 0 ] || status=1
fi

if [ "$status" -ne 0 ]; then
  tail -n 80 "$work/log"
  echo "$target: FAILED (exit status $status); the input is in $crashes:"
  ls -l "$crashes"
fi
printf '%s: %s executions in %.0f s (%s exec/s), peak RSS %s MB, corpus %d -> %d files\n' \
  "$target" "${executions:-?}" "$seconds" "${per_second:-?}" "${peak_rss:-?}" "$before" "$after"
exit "$status"
