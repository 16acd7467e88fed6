#!/usr/bin/env bash
# The Dispatcher: how fast it records submissions, and what it adds to a
# job's start compared with `tailor run` of the same job.
#
# usage: bench/dispatcher.sh BIN_DIR [SUBMISSIONS] [RUNS]
#   BIN_DIR      directory holding tailor, tailor-dispatcher, tailor-jobmanager, tailor-taskmanager
#   SUBMISSIONS  submissions in the throughput burst (default 200), 8 at a time
#   RUNS         rounds of the latency comparison (default 5)
#
# 1. Throughput: SUBMISSIONS POSTs of a small job (spec + one file) with curl,
#    8 in flight, with --max-running-jobs 1 so that jobs barely run meanwhile;
#    baseline: the same number of GET /health on the same server (an HTTP
#    round trip without validation, id, files and fsync'ed record).
# 2. Latency: per round, `tailor run` and `tailor submit --wait` of the same
#    two-stage job (order alternating), each timed from the command's start to
#    the first task started (the report's stages[0].started_at) and to the end
#    (for submit: when the Dispatcher recorded the end, and when the CLI,
#    which polls every 100 ms, exited).
# Everything on loopback; bounded by timeouts. Needs jq and curl.
set -euo pipefail

bin_dir=$(cd "${1:?usage: bench/dispatcher.sh BIN_DIR [SUBMISSIONS] [RUNS]}" && pwd)
count=${2:-200}
runs=${3:-5}
for tool in tailor tailor-dispatcher tailor-jobmanager tailor-taskmanager; do
  [ -x "$bin_dir/$tool" ] || { echo "dispatcher.sh: $bin_dir/$tool missing" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tailor-dispatcher-bench-XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

now() { date +%s.%N; }

start_dispatcher() {  # NAME [flags]
  local name=$1
  shift
  "$bin_dir/tailor-dispatcher" --port 0 --bind 127.0.0.1 --state-store "local:$tmp/$name" \
    --jobmanager-arg "--local-resources cpus=2,mem=4096" "$@" >"$tmp/$name.out" 2>"$tmp/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q listening "$tmp/$name.out" 2>/dev/null && break
    sleep 0.05
  done
  url="http://127.0.0.1:$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$tmp/$name.out")"
  for _ in $(seq 100); do curl -sf "$url/ready" >/dev/null && break; sleep 0.05; done
}

seq 1 1000 >"$tmp/numbers.txt"
cat >"$tmp/job.yaml" <<'YAML'
name: bench
stages:
  - name: read
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: cat
  - name: sum
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    inputs: [{stage: read}]
    command: "awk '{ s += $1 } END { print s }'"
YAML
jq -n --rawfile spec "$tmp/job.yaml" --arg data "$(base64 -w0 "$tmp/numbers.txt")" \
  '{spec: $spec, spec_name: "job.yaml", files: [{path: "numbers.txt", content: $data}]}' >"$tmp/body.json"

# --- 1. throughput ---
start_dispatcher burst --max-running-jobs 1
t0=$(now)
seq "$count" | xargs -P 8 -I{} curl -sf -o /dev/null -w '%{http_code}\n' "$url/health" >"$tmp/health.codes"
t1=$(now)
seq "$count" | xargs -P 8 -I{} curl -sf -o /dev/null -w '%{http_code}\n' -X POST \
  -H 'Content-Type: application/json' --data-binary "@$tmp/body.json" "$url/v1/jobs" >"$tmp/submit.codes"
t2=$(now)
[ "$(grep -c '^201$' "$tmp/submit.codes")" -eq "$count" ] || { echo "not every submission got 201" >&2; exit 1; }
recorded=$(curl -s "$url/v1/jobs?limit=1" | jq .total)
health_rate=$(echo "$count / ($t1 - $t0)" | bc -l)
submit_rate=$(echo "$count / ($t2 - $t1)" | bc -l)
printf 'throughput: %d submissions recorded (%d in the store) in %.2fs: %.0f/s; GET /health %.0f/s; ratio %.2f\n' \
  "$count" "$recorded" "$(echo "$t2 - $t1" | bc -l)" "$submit_rate" "$health_rate" \
  "$(echo "$submit_rate / $health_rate" | bc -l)"
curl -s -X POST "$url/v1/jobs/none/cancel" >/dev/null || true
kill "${pids[-1]}" 2>/dev/null || true

# --- 2. latency ---
start_dispatcher latency --max-running-jobs 4
export TAILOR_DISPATCHER="$url"
: >"$tmp/latency.tsv"
run_local() {  # round
  local s; s=$(now)
  timeout 60 "$bin_dir/tailor" run "$tmp/job.yaml" --local-resources cpus=2,mem=4096 \
    --report "$tmp/run-$1.json" --output "$tmp/out-run-$1" --work-dir "$tmp/work-$1" >/dev/null 2>&1
  local e; e=$(now)
  jq -r --arg s "$s" --arg e "$e" '"run\t\(.stages[0].started_at - ($s|tonumber))\t\(($e|tonumber) - ($s|tonumber))"' \
    "$tmp/run-$1.json" >>"$tmp/latency.tsv"
}
run_submit() {  # round
  local s; s=$(now)
  timeout 60 "$bin_dir/tailor" submit "$tmp/job.yaml" --wait >"$tmp/submit-$1.log" 2>&1
  local e; e=$(now)
  local id; id=$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$tmp/submit-$1.log")
  "$bin_dir/tailor" report "$id" >"$tmp/submit-$1.json"
  "$bin_dir/tailor" status "$id" -o json >"$tmp/status-$1.json"
  local running; running=$(jq -r '[.history[] | select(.state == "RUNNING")][0].at' "$tmp/status-$1.json")
  local ended; ended=$(jq -r '.finished_at' "$tmp/status-$1.json")
  jq -r --arg s "$s" --arg e "$e" --arg r "$running" --arg d "$ended" \
    '"submit\t\(.stages[0].started_at - ($s|tonumber))\t\(($e|tonumber) - ($s|tonumber))\t\(($r|tonumber) - ($s|tonumber))\t\(($d|tonumber) - ($s|tonumber))"' \
    "$tmp/submit-$1.json" >>"$tmp/latency.tsv"
}
for round in $(seq "$runs"); do
  if [ $((round % 2)) -eq 1 ]; then run_local "$round"; run_submit "$round"; else run_submit "$round"; run_local "$round"; fi
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
run_first=$(awk -F'\t' '$1 == "run" { print $2 }' "$tmp/latency.tsv" | median)
run_end=$(awk -F'\t' '$1 == "run" { print $3 }' "$tmp/latency.tsv" | median)
sub_first=$(awk -F'\t' '$1 == "submit" { print $2 }' "$tmp/latency.tsv" | median)
sub_end=$(awk -F'\t' '$1 == "submit" { print $3 }' "$tmp/latency.tsv" | median)
sub_running=$(awk -F'\t' '$1 == "submit" { print $4 }' "$tmp/latency.tsv" | median)
sub_recorded=$(awk -F'\t' '$1 == "submit" { print $5 }' "$tmp/latency.tsv" | median)
printf 'latency (median of %d): tailor run: first task %.3fs, done %.3fs\n' "$runs" "$run_first" "$run_end"
printf '                       tailor submit --wait: JobManager RUNNING %.3fs, first task %.3fs, end recorded %.3fs, CLI done %.3fs\n' \
  "$sub_running" "$sub_first" "$sub_recorded" "$sub_end"
printf '                       ratio submit/run: first task %.2f, done %.2f\n' \
  "$(echo "$sub_first / $run_first" | bc -l)" "$(echo "$sub_end / $run_end" | bc -l)"
