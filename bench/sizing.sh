#!/usr/bin/env bash
# Tailored versus fixed TaskManager sizing on the wordcount example.
#
# usage: bench/sizing.sh BIN_DIR [RUNS] [INPUT_MIB]
#   BIN_DIR    directory holding `tailor` and `tailor-taskmanager`
#   RUNS       rounds; each round runs the job once per policy (default 3)
#   INPUT_MIB  size of the generated input (default 64), in 8 files
#
# Runs `tailor run` with --taskmanager-sizing tailored and fixed on a local
# cluster of cpus=2,mem=8192, alternating the order each round (T F, F T, ...)
# so that drifting machine load hits both policies alike. Prints, per run and
# as medians: job duration, allocated and requested cpu-seconds and
# MiB-seconds, TaskManagers (launched/planned) and their sizes; then the
# tailored/fixed ratios against the goal (allocated resource-seconds <= 0.7x
# fixed at equal or better job time), and the TaskManager start latency
# (registered_at - launched_at over every launched TM of every run).
# Needs jq. Each run is bounded by a timeout of 60 s + 1 s per input MiB.
set -euo pipefail

bin_dir=${1:?usage: bench/sizing.sh BIN_DIR [RUNS] [INPUT_MIB]}
runs=${2:-3}
input_mib=${3:-64}
bin_dir=$(cd "$bin_dir" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
example="$here/../examples/wordcount"
for tool in "$bin_dir/tailor" "$bin_dir/tailor-taskmanager"; do
  [ -x "$tool" ] || { echo "sizing.sh: $tool not found or not executable" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "sizing.sh: jq is required" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tailor-sizing-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$example/job.yaml" "$tmp/job.yaml"
"$example/generate-input" "$tmp/data" "$input_mib" 8 >/dev/null
echo "wordcount, ${input_mib} MiB input in 8 files, local cluster cpus=2,mem=8192, $runs rounds"

records="$tmp/runs.jsonl"
: >"$records"
reference_output=""
run_one() {  # round policy
  local round=$1 policy=$2
  local name="r$round-$policy"
  local log="$tmp/$name.log"
  if ! timeout $((60 + input_mib)) "$bin_dir/tailor" run "$tmp/job.yaml" --taskmanager-sizing "$policy" \
      --report "$tmp/$name.json" --output "$tmp/out-$name" --work-dir "$tmp/work-$name" \
      --local-resources cpus=2,mem=8192 >"$log" 2>&1; then
    echo "sizing.sh: run $name failed; last lines of its output:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  # Both policies must compute the same answer.
  local digest
  digest=$(cat "$tmp/out-$name"/* | md5sum | cut -d' ' -f1)
  if [ -z "$reference_output" ]; then
    reference_output=$digest
  elif [ "$digest" != "$reference_output" ]; then
    echo "sizing.sh: run $name produced a different output than the first run" >&2
    exit 1
  fi
  jq -c --argjson round "$round" '{
      round: $round,
      sizing: .sizing,
      status: .job.status,
      duration: .job.duration_seconds,
      alloc_cpu: (.totals.allocated.cpu_seconds // 0),
      alloc_mem: (.totals.allocated.mem_mib_seconds // 0),
      req_cpu: (.totals.requested.cpu_seconds // 0),
      req_mem: (.totals.requested.mem_mib_seconds // 0),
      tms_planned: (.taskmanagers | length),
      tms_launched: ([.taskmanagers[] | select((.launched_at // 0) > 0)] | length),
      sizes: ([.taskmanagers[] | select((.launched_at // 0) > 0)
               | "cpus=\(.resources.cpus // 0),mem=\(.resources.mem // 0)/\(.slots // 0)slots"]
              | group_by(.) | map("\(length)x \(.[0])") | join(" ")),
      start_latencies: [.taskmanagers[]
                        | select((.launched_at // 0) > 0 and (.registered_at // 0) > 0)
                        | .registered_at - .launched_at]
    }' "$tmp/$name.json" >>"$records"
}

for round in $(seq 1 "$runs"); do
  if [ $((round % 2)) -eq 1 ]; then order="tailored fixed"; else order="fixed tailored"; fi
  for policy in $order; do
    run_one "$round" "$policy"
  done
done

jq -r -s '
  def median: sort | if length == 0 then 0
    elif length % 2 == 1 then .[(length - 1) / 2]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  # linear interpolation between closest ranks, as the C++ benchmarks do
  def pct(p): sort | if length == 0 then 0 else
    (p * (length - 1)) as $r | ($r | floor) as $lo | ([$lo + 1, length - 1] | min) as $hi
    | .[$lo] + (.[$hi] - .[$lo]) * ($r - $lo) end;
  def f(n): (n * 100 | round) / 100 | tostring;
  def row: [.round, .sizing, f(.duration), f(.alloc_cpu), f(.alloc_mem | round),
            f(.req_cpu), f(.req_mem | round), "\(.tms_launched)/\(.tms_planned)", .sizes]
           | map(tostring) | join(" | ");
  . as $all
  | def med(p; key): [$all[] | select(.sizing == p) | key] | median;
  ( "",
    "per run (seconds; allocated/requested in cpu-s and MiB-s; TMs launched/planned):",
    "round | sizing | job_s | alloc_cpu_s | alloc_mem_mib_s | req_cpu_s | req_mem_mib_s | TMs | TM sizes",
    ($all[] | row),
    "",
    "medians:",
    "sizing | job_s | alloc_cpu_s | alloc_mem_mib_s | req_cpu_s | req_mem_mib_s | TMs launched",
    ( ["tailored", "fixed"][] as $p
      | [$p, f(med($p; .duration)), f(med($p; .alloc_cpu)), f(med($p; .alloc_mem) | round),
         f(med($p; .req_cpu)), f(med($p; .req_mem) | round), f(med($p; .tms_launched))]
      | join(" | ") ),
    "",
    ( (med("tailored"; .alloc_cpu) / med("fixed"; .alloc_cpu)) as $cpu
      | (med("tailored"; .alloc_mem) / med("fixed"; .alloc_mem)) as $mem
      | (med("tailored"; .duration) / med("fixed"; .duration)) as $time
      | "ratios tailored/fixed (of medians): allocated cpu-s \($cpu * 1000 | round / 1000)"
        + ", allocated mem-s \($mem * 1000 | round / 1000)"
        + ", job time \($time * 1000 | round / 1000)",
        "goal (alloc <= 0.7x, job time <= 1.0x): cpu-s "
        + (if $cpu <= 0.7 then "MET" else "MISSED" end)
        + ", mem-s " + (if $mem <= 0.7 then "MET" else "MISSED" end)
        + ", job time " + (if $time <= 1.0 then "MET" else "MISSED (tailored \((($time - 1) * 100) | round)% slower)" end) ),
    "",
    ( [$all[].start_latencies[]] as $l
      | "TM start-to-registered latency over \($l | length) TMs (ms): median \($l | median * 1000 | round)"
        + ", p90 \($l | pct(0.9) * 1000 | round), max \($l | max // 0 | . * 1000 | round)" ),
    ( ["tailored", "fixed"][] as $p
      | [$all[] | select(.sizing == $p) | .start_latencies[]] as $l
      | "  \($p): \($l | length) TMs, median \($l | median * 1000 | round)"
        + ", p90 \($l | pct(0.9) * 1000 | round), max \($l | max // 0 | . * 1000 | round)" )
  )' "$records"
