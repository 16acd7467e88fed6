#!/usr/bin/env bash
# Large jobs: a wide stage feeding one task, and many tiny tasks.
#
# usage: bench/large_jobs.sh BIN_DIR [ROUNDS]
#   BIN_DIR  directory holding `tailor` and `tailor-taskmanager`
#   ROUNDS   rounds of each measurement (default 1); medians over rounds
#
# Part 1, wide stage: `split` (500 tasks of cpus=0.01,mem=16MiB running `cat`
# over 200,000 numbers in 4 files) -> `sum` (1 task, awk) on a local cluster of
# cpus=2,mem=8192. Baseline, same round: the sum run directly (`cat` of the
# inputs | awk). Prints the job time (.job.duration_seconds), split's own time
# (finished_at - started_at), the direct time, the ratio
# job / (split + direct) (goal <= 3), allocated/requested cpu-seconds
# (.totals; goal <= 2) and the TaskManagers launched (launched_at > 0).
#
# Part 2, tiny tasks: a one-stage job of N tasks (N = 1000, 2000, 10000) of
# cpus=0.01,mem=16MiB running `echo hi`, on the default local cluster (this
# machine). A source stage must have `input` with at least one existing file,
# so the stage reads one empty file: every task gets no input. Baseline, same
# round (the order alternates each round): the same N commands through
# `seq N | xargs -P $(nproc) -I{} sh -c 'echo hi > /dev/null'`. Prints the
# `tailor run` wall time, the xargs time and their ratio (goal <= 3), and the
# JobManager's peak RSS and CPU time with their growth from 1000 to 10000 tasks
# (goal: linear or better, <= 10x).
#
# The JobManager runs inside `tailor run`, so its own numbers are read from
# /proc/<pid> every 0.1 s while it runs (no package needed): VmHWM (peak RSS)
# and utime+stime (its own threads; the last <= 0.1 s before exit is missed).
# When /usr/bin/time exists (Debian package `time`, not installed by default)
# the run is also timed with `/usr/bin/time -v`; its user+sys covers every
# process `tailor run` waited for, i.e. TaskManagers and tasks too, and is
# printed as all_cpu_s, never used for the JobManager's growth.
#
# Every run is bounded: part 1 by 120 s, part 2 by 60 s + 24 s per 1000 tasks
# (300 s at 10,000). A run that fails or times out is reported as such and
# left out of the medians; the script goes on. Needs jq, awk, xargs, pgrep.
# KEEP_TMP=1 keeps the temporary directory (reports, logs of failed runs).
set -euo pipefail

bin_dir=${1:?usage: bench/large_jobs.sh BIN_DIR [ROUNDS]}
rounds=${2:-1}
bin_dir=$(cd "$bin_dir" && pwd)
for tool in "$bin_dir/tailor" "$bin_dir/tailor-taskmanager"; do
  [ -x "$tool" ] || { echo "large_jobs.sh: $tool not found or not executable" >&2; exit 2; }
done
for tool in jq awk xargs pgrep timeout; do
  command -v "$tool" >/dev/null || { echo "large_jobs.sh: $tool is required" >&2; exit 2; }
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "large_jobs.sh: ROUNDS must be a positive number" >&2; exit 2; }
gnu_time=""
[ -x /usr/bin/time ] && gnu_time=/usr/bin/time
clock_ticks=$(getconf CLK_TCK)
cores=$(nproc)
export LC_ALL=C

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tailor-large-XXXXXX")
active=""  # the `timeout` of the run in flight, stopped if this script ends early
cleanup() {
  [ -z "$active" ] || kill "$active" 2>/dev/null || true
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# child_of PARENT NAME: the pid of PARENT's child called NAME (waits up to 5 s).
child_of() {
  local i
  for i in $(seq 100); do
    pgrep -P "$1" -x "$2" && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# poll_jm PID OUT: until PID ends, writes "<VmHWM KiB> <utime+stime ticks>" of
# PID to OUT every 0.1 s (builtins apart from `sleep`, so sampling costs little).
poll_jm() {
  local pid=$1 out=$2 line key value rest hwm=0 ticks=0
  local -a fields
  while { read -r line < "/proc/$pid/stat"; } 2>/dev/null; do
    read -r -a fields <<< "${line##*) }"  # fields after "(comm) ": state is [0]
    ticks=$((fields[11] + fields[12]))  # utime and stime, fields 14 and 15 of stat
    while read -r key value rest; do
      [ "$key" = VmHWM: ] && hwm=$value
    done 2>/dev/null < "/proc/$pid/status" || true
    echo "$hwm $ticks" > "$out"
    sleep 0.1
  done
}

# The sum stage's command of examples/large-sum, run directly as the baseline.
SUM='awk '"'"'{ s += $1 } END { printf "%.0f\n", s }'"'"

records="$tmp/runs.jsonl"
: > "$records"

# ---- Part 1: 500 tasks -> 1 -------------------------------------------------
"$(dirname "$0")/../examples/large-sum/write-job" "$tmp/wide" 500
echo "part 1: split (500 x cat over 200,000 numbers) -> sum (1 task), local cluster cpus=2,mem=8192, $rounds round(s)"

for round in $(seq 1 "$rounds"); do
  start=$(now)
  cat "$tmp"/wide/data/*.txt | sh -c "$SUM" > "$tmp/wide/direct.txt"
  direct_s=$(since "$start")
  name="wide-r$round"
  start=$(now)
  rc=0
  timeout -k 10 120 "$bin_dir/tailor" run "$tmp/wide/job.yaml" --local-resources cpus=2,mem=8192 \
    --output "$tmp/out-$name" --report "$tmp/$name.json" --work-dir "$tmp/work-$name" \
    > "$tmp/$name.log" 2>&1 &
  active=$!
  wait "$active" || rc=$?
  active=""
  wall_s=$(since "$start")
  status=ok
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    status="timeout 120s"
  elif [ "$rc" -ne 0 ]; then
    status="failed ($rc)"
  elif ! cmp -s "$tmp/wide/direct.txt" <(cat "$tmp/out-$name"/part-* 2>/dev/null); then
    status="wrong sum"
  fi
  if [ "$status" != ok ]; then
    echo "  round $round: $status after $wall_s s; last lines of its output:" >&2
    tail -n 5 "$tmp/$name.log" >&2
  fi
  report="$tmp/$name.json"
  [ -s "$report" ] || echo '{}' > "$report"
  jq -c --argjson round "$round" --arg status "$status" --argjson direct "$direct_s" \
    --argjson wall "$wall_s" '
    ((.stages // []) | map(select(.name == "split")) | .[0] // {}) as $split
    | {part: 1, round: $round, status: $status, wall: $wall, direct: $direct,
       job: (.job.duration_seconds // 0),
       split: (if ($split.finished_at // 0) > 0 then $split.finished_at - $split.started_at else 0 end),
       alloc_cpu: (.totals.allocated.cpu_seconds // 0),
       req_cpu: (.totals.requested.cpu_seconds // 0),
       tms: ([.taskmanagers // [] | .[] | select((.launched_at // 0) > 0)] | length),
       tms_planned: (.taskmanagers // [] | length)}' "$report" >> "$records"
done

# ---- Part 2: N tiny tasks against xargs --------------------------------------
mkdir -p "$tmp/tiny"
: > "$tmp/tiny/empty.txt"
echo "part 2: N tasks of 'echo hi' (default local cluster) vs seq N | xargs -P $cores, $rounds round(s)"

tiny_tailor() {  # round n
  local round=$1 n=$2 name="tiny-$2-r$1" limit=$((60 + $2 * 24 / 1000))
  cat > "$tmp/tiny/$n.yaml" <<YAML
name: tiny-$n
stages:
  - name: tiny
    parallelism: $n
    resources: {cpus: 0.01, mem: 16MiB}
    input: {files: ["empty.txt"]}
    command: echo hi
YAML
  local run=(timeout -k 10 "$limit" "$bin_dir/tailor" run "$tmp/tiny/$n.yaml"
             --output "$tmp/out-$name" --report "$tmp/$name.json" --work-dir "$tmp/work-$name")
  local start rc=0 wrapper timeout_pid jm_pid="" poller=""
  start=$(now)
  if [ -n "$gnu_time" ]; then
    "$gnu_time" -v -o "$tmp/$name.time" "${run[@]}" > "$tmp/$name.log" 2>&1 &
    wrapper=$!
    timeout_pid=$(child_of "$wrapper" timeout) || timeout_pid=""
    active=${timeout_pid:-$wrapper}
    [ -z "$timeout_pid" ] || jm_pid=$(child_of "$timeout_pid" tailor) || true
  else
    "${run[@]}" > "$tmp/$name.log" 2>&1 &
    wrapper=$!
    active=$wrapper
    jm_pid=$(child_of "$wrapper" tailor) || true
  fi
  echo "0 0" > "$tmp/$name.jm"
  if [ -n "$jm_pid" ]; then
    poll_jm "$jm_pid" "$tmp/$name.jm" &
    poller=$!
  fi
  wait "$wrapper" || rc=$?
  active=""
  local wall_s
  wall_s=$(since "$start")
  [ -z "$poller" ] || wait "$poller" || true
  local status=ok
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    status="timeout ${limit}s"
  elif [ "$rc" -ne 0 ]; then
    status="failed ($rc)"
  elif [ -z "$jm_pid" ]; then
    status="no JobManager pid"
  else
    local lines his
    lines=$(find "$tmp/out-$name" -name 'part-*' -exec cat {} + | wc -l)
    his=$(find "$tmp/out-$name" -name 'part-*' -exec cat {} + | grep -c '^hi$' || true)
    [ "$lines" -eq "$n" ] && [ "$his" -eq "$n" ] || status="wrong output ($his of $lines lines 'hi', expected $n)"
  fi
  if [ "$status" != ok ]; then
    echo "  $n tasks, round $round: $status after $wall_s s; last lines of its output:" >&2
    tail -n 5 "$tmp/$name.log" >&2
  fi
  local hwm ticks all_cpu=null
  read -r hwm ticks < "$tmp/$name.jm"
  if [ -n "$gnu_time" ] && [ -s "$tmp/$name.time" ]; then
    all_cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$tmp/$name.time")
  fi
  local report="$tmp/$name.json"
  [ -s "$report" ] || echo '{}' > "$report"
  jq -c --argjson round "$round" --argjson n "$n" --arg status "$status" --argjson wall "$wall_s" \
    --argjson hwm "$hwm" --argjson ticks "$ticks" --argjson hz "$clock_ticks" --argjson all_cpu "$all_cpu" '
    {part: 2, round: $round, n: $n, status: $status, wall: $wall,
     job: (.job.duration_seconds // 0),
     rss_mib: ($hwm / 1024), cpu: ($ticks / $hz), all_cpu: $all_cpu,
     tms: ([.taskmanagers // [] | .[] | select((.launched_at // 0) > 0)] | length)}' "$report" \
    > "$tmp/$name.record"
  # The benchmark's own clean-up waits for the end: ext4 allocates inodes
  # slowly for a while after many were deleted, and removing a run's files
  # here would slow the next run down by what this script deletes.
  [ "$status" != ok ] || done_runs+=("$tmp/out-$name" "$tmp/work-$name")
}
done_runs=()

tiny_xargs() {  # n: prints the seconds
  local start
  start=$(now)
  seq "$1" | xargs -P "$cores" -I{} sh -c 'echo hi > /dev/null'
  since "$start"
}

for round in $(seq 1 "$rounds"); do
  for n in 1000 2000 10000; do
    name="tiny-$n-r$round"
    if [ $((round % 2)) -eq 1 ]; then
      tiny_tailor "$round" "$n"
      xargs_s=$(tiny_xargs "$n")
    else
      xargs_s=$(tiny_xargs "$n")
      tiny_tailor "$round" "$n"
    fi
    jq -c --argjson xargs "$xargs_s" '. + {xargs: $xargs}' "$tmp/$name.record" >> "$records"
  done
done

[ "${#done_runs[@]}" -eq 0 ] || rm -rf "${done_runs[@]}"

# ---- Table -------------------------------------------------------------------
time_note="all_cpu_s from /usr/bin/time -v: TaskManagers and tasks included"
[ -n "$gnu_time" ] || time_note="all_cpu_s not measured: no /usr/bin/time"
jq -r -s --arg time_note "$time_note" '
  def median: sort | if length == 0 then null
    elif length % 2 == 1 then .[(length - 1) / 2]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def f(n): if n == null then "-" else (n * 100 | round) / 100 | tostring end;
  def fx(n): if n == null then "-" else f(n) + "x" end;
  def ratio(a; b): if a == null or b == null or b == 0 then null else a / b end;
  def verdict(x; goal): if x == null then "NOT MEASURED (no successful run)"
    elif x <= goal then "MET" else "MISSED" end;
  . as $all
  | [$all[] | select(.part == 1)] as $p1
  | [$p1[] | select(.status == "ok")] as $p1ok
  | [$all[] | select(.part == 2)] as $p2
  | def med2(n; key): [$p2[] | select(.n == n and .status == "ok") | key] | median;
  ( "",
    "part 1 per round (seconds; cpu-s; TMs launched/planned):",
    "round | status | job_s | split_s | direct_sum_s | job/(split+direct) | alloc_cpu_s | req_cpu_s | alloc/req | TMs",
    ( $p1[] | [.round, .status, f(.job), f(.split), (.direct * 1000 | round / 1000), f(ratio(.job; .split + .direct)),
               f(.alloc_cpu), f(.req_cpu), f(ratio(.alloc_cpu; .req_cpu)), "\(.tms)/\(.tms_planned)"]
             | map(tostring) | join(" | ") ),
    ( ([$p1ok[] | ratio(.job; .split + .direct)] | median) as $time
      | ([$p1ok[] | ratio(.alloc_cpu; .req_cpu)] | median) as $cpu
      | "medians over \($p1ok | length) successful round(s): job/(split+direct) \(f($time)) (goal <= 3: \(verdict($time; 3))),"
        + " allocated/requested cpu-s \(f($cpu)) (goal <= 2: \(verdict($cpu; 2))),"
        + " TMs launched \(f([$p1ok[] | .tms] | median))" ),
    "",
    "part 2 per run (seconds; JobManager RSS in MiB and CPU in s from /proc; \($time_note)):",
    "N | round | status | tailor_s | job_s | xargs_s | tailor/xargs | JM_rss_mib | JM_cpu_s | all_cpu_s | TMs",
    ( $p2[] | [.n, .round, .status, f(.wall), f(.job), f(.xargs), f(ratio(.wall; .xargs)),
               f(.rss_mib), f(.cpu), f(.all_cpu), .tms] | map(tostring) | join(" | ") ),
    "",
    "part 2 medians:",
    "N | tailor_s | xargs_s | tailor/xargs | goal <= 3 | JM_rss_mib | JM_cpu_s",
    ( (1000, 2000, 10000) as $n
      | ratio(med2($n; .wall); med2($n; .xargs)) as $r
      | [$n, f(med2($n; .wall)), f(med2($n; .xargs)), f($r), verdict($r; 3),
         f(med2($n; .rss_mib)), f(med2($n; .cpu))] | map(tostring) | join(" | ") ),
    ( ratio(med2(10000; .rss_mib); med2(1000; .rss_mib)) as $rss
      | ratio(med2(10000; .cpu); med2(1000; .cpu)) as $cpu
      | "JobManager growth 1000 -> 10000 tasks (10x the tasks): peak RSS \(fx($rss)) (goal <= 10: \(verdict($rss; 10))),"
        + " CPU \(fx($cpu)) (goal <= 10: \(verdict($cpu; 10)))" )
  )' "$records"
