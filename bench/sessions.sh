#!/usr/bin/env bash
# Session mode against per-job mode, in the same run, through one local
# Dispatcher (docs/sessions.md).
#
# usage: bench/sessions.sh BIN_DIR [JOBS] [WARM_RUNS]
#   BIN_DIR    directory holding tailor, tailor-dispatcher, tailor-jobmanager, tailor-taskmanager
#   JOBS       short jobs per mode (default 20), of four resource profiles
#   WARM_RUNS  single-task jobs submitted one after another to the warm session (default 10)
#
# 1. Per-job: JOBS jobs submitted at once (each gets a JobManager and
#    TaskManagers of its own), then one after another (each waited for);
#    total time from the first submission to the last end the Dispatcher
#    recorded, and TaskManagers launched (the reports').
# 2. Session: a session started (not timed); the same JOBS jobs submitted at
#    once to it while it has no TaskManager yet (cold), again now that it has
#    (warm), then one after another; the same figures (TaskManagers: the
#    session's count, reported to the Dispatcher once a second).
# 3. Warm session: WARM_RUNS one-task jobs, one after another; for each, the
#    time from the `tailor submit` command's start to its task's start (the
#    report's attempts[0].started_at), and from the session taking the job
#    (job.submitted_at) to that start.
# Everything on loopback, on a local cluster of cpus=2,mem=4096. Needs jq and curl.
set -euo pipefail

bin_dir=$(cd "${1:?usage: bench/sessions.sh BIN_DIR [JOBS] [WARM_RUNS]}" && pwd)
jobs=${2:-20}
warm_runs=${3:-10}
for tool in tailor tailor-dispatcher tailor-jobmanager tailor-taskmanager; do
  [ -x "$bin_dir/$tool" ] || { echo "sessions.sh: $bin_dir/$tool missing" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tailor-sessions-bench-XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
now() { date +%s.%N; }

"$bin_dir/tailor-dispatcher" --port 0 --bind 127.0.0.1 --state-store "local:$tmp/state" \
  --max-running-jobs "$jobs" \
  --jobmanager-arg "--local-resources cpus=2,mem=4096" >"$tmp/d.out" 2>"$tmp/d.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/d.out" 2>/dev/null && break; sleep 0.05; done
export TAILOR_DISPATCHER="http://127.0.0.1:$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$tmp/d.out")"
for _ in $(seq 100); do curl -sf "$TAILOR_DISPATCHER/ready" >/dev/null && break; sleep 0.05; done

seq 1 2000 >"$tmp/numbers.txt"
profiles=("cpus: 0.1, mem: 32" "cpus: 0.2, mem: 64" "cpus: 0.25, mem: 128" "cpus: 0.5, mem: 96")
for p in 0 1 2 3; do
  cat >"$tmp/job$p.yaml" <<YAML
name: short$p
stages:
  - name: read
    parallelism: 2
    resources: {${profiles[$p]}}
    input: {files: ["numbers.txt"]}
    command: cat
  - name: sort
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    inputs: [{stage: read, partitioning: hash}]
    command: sort -n
YAML
done

# run_all MODE WAY [--session NAME]: submits the jobs at once (WAY=parallel)
# or one after another, each waited for (WAY=serial); waits for all; prints
# "<seconds> <mean job ms> <ids...>": the total from the first submission to
# the last end, and the mean of each job's time from submitted to finished as
# the Dispatcher recorded them (which leaves out the CLI's start and its
# polling every 100 ms).
run_all() {
  local mode=$1 way=$2
  shift 2
  local start ids=() pids_local=()
  start=$(now)
  for k in $(seq 0 $((jobs - 1))); do
    if [ "$way" = parallel ]; then
      "$bin_dir/tailor" submit "$@" "$tmp/job$((k % 4)).yaml" >"$tmp/$mode-$k.log" 2>&1 &
      pids_local+=($!)
    else
      # Each waited for by polling the Dispatcher every 10 ms (`submit --wait`
      # polls every 100 ms, which would be most of a short job's time).
      "$bin_dir/tailor" submit "$@" "$tmp/job$((k % 4)).yaml" >"$tmp/$mode-$k.log" 2>&1
      local one
      one=$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$tmp/$mode-$k.log")
      until curl -sf "$TAILOR_DISPATCHER/v1/jobs/$one" | jq -e '.finished_at > 0' >/dev/null; do
        sleep 0.01
      done
    fi
  done
  for pid in "${pids_local[@]}"; do wait "$pid"; done
  for k in $(seq 0 $((jobs - 1))); do
    ids+=("$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$tmp/$mode-$k.log")")
  done
  for id in "${ids[@]}"; do
    for _ in $(seq 1200); do
      state=$(curl -sf "$TAILOR_DISPATCHER/v1/jobs/$id" | jq -r .state)
      case $state in FINISHED) break ;; FAILED | CANCELED) echo "job $id $state" >&2; exit 1 ;; esac
      sleep 0.05
    done
    [ "$state" = FINISHED ] || { echo "job $id not finished" >&2; exit 1; }
  done
  local last=0 sum=0
  for id in "${ids[@]}"; do
    curl -sf "$TAILOR_DISPATCHER/v1/jobs/$id" >"$tmp/$mode-view-$id.json"
    f=$(jq .finished_at "$tmp/$mode-view-$id.json")
    last=$(echo "$last $f" | awk '{print ($2 > $1) ? $2 : $1}')
    sum=$(echo "$sum $(jq '.finished_at - .submitted_at' "$tmp/$mode-view-$id.json")" | awk '{print $1 + $2}')
    curl -sf "$TAILOR_DISPATCHER/v1/jobs/$id/report" >"$tmp/$mode-report-$id.json"
  done
  echo "$(echo "$start $last" | awk '{printf "%.2f", $2 - $1}') $(echo "$sum ${#ids[@]}" | awk '{printf "%.1f", $1 / $2 * 1000}') ${ids[*]}"
}
launched() {  # TaskManagers the session launched so far (reported once a second)
  sleep 1.5
  curl -sf "$TAILOR_DISPATCHER/v1/sessions/bench" | jq .taskmanagers_launched
}
tms_of() { jq -s '[.[].taskmanagers | length] | add' "$tmp"/"$1"-report-*.json; }

read -r perjob_par perjob_par_ms _ <<<"$(run_all perjob-par parallel)"
perjob_par_tms=$(tms_of perjob-par)
read -r perjob_ser perjob_ser_ms _ <<<"$(run_all perjob-ser serial)"
perjob_ser_tms=$(tms_of perjob-ser)

"$bin_dir/tailor" session start bench --idle-timeout 120s >/dev/null
for _ in $(seq 600); do
  [ "$(curl -sf "$TAILOR_DISPATCHER/v1/sessions/bench" | jq -r .state)" = SESSION_RUNNING ] && break
  sleep 0.05
done
read -r cold_par cold_par_ms _ <<<"$(run_all cold-par parallel --session bench)"
cold_tms=$(launched)
read -r warm_par warm_par_ms _ <<<"$(run_all warm-par parallel --session bench)"
warm_par_tms=$(( $(launched) - cold_tms ))
read -r warm_ser warm_ser_ms _ <<<"$(run_all warm-ser serial --session bench)"
warm_ser_tms=$(( $(launched) - cold_tms - warm_par_tms ))

echo hello >"$tmp/hello.txt"
cat >"$tmp/one.yaml" <<'YAML'
name: one
stages:
  - name: echo
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["hello.txt"]}
    command: cat
YAML
first=()
inside=()
for run in $(seq "$warm_runs"); do
  t0=$(now)
  "$bin_dir/tailor" submit --session bench "$tmp/one.yaml" --wait >"$tmp/one.log" 2>&1
  id=$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$tmp/one.log")
  curl -sf "$TAILOR_DISPATCHER/v1/jobs/$id/report" >"$tmp/one.json"
  first+=("$(jq --argjson t0 "$t0" '(.attempts | map(.started_at) | min) - $t0' "$tmp/one.json")")
  inside+=("$(jq '(.attempts | map(.started_at) | min) - .job.submitted_at' "$tmp/one.json")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
ms() { awk '{printf "%.1f", $1 * 1000}'; }
"$bin_dir/tailor" session stop bench >/dev/null
for _ in $(seq 600); do
  [ "$(curl -sf "$TAILOR_DISPATCHER/v1/sessions/bench" | jq -r .state)" = SESSION_STOPPED ] && break
  sleep 0.05
done

ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
echo "jobs: $jobs of 4 profiles (2 x read + 1 x sort each), local cluster cpus=2,mem=4096"
echo "all submitted at once:"
line() {  # LABEL SECONDS MEAN_MS TMS [BASE_SECONDS BASE_MS]
  printf '  %-16s %6.2f s total, job %7.1f ms mean, %3d TaskManagers' "$1" "$2" "$3" "$4"
  [ $# -gt 4 ] && printf '   session / per-job: total %s, job %s' "$(ratio "$2" "$5")" "$(ratio "$3" "$6")"
  echo
}
line per-job "$perjob_par" "$perjob_par_ms" "$perjob_par_tms"
line "session (cold)" "$cold_par" "$cold_par_ms" "$cold_tms" "$perjob_par" "$perjob_par_ms"
line "session (warm)" "$warm_par" "$warm_par_ms" "$warm_par_tms" "$perjob_par" "$perjob_par_ms"
echo "one after another (each waited for):"
line per-job "$perjob_ser" "$perjob_ser_ms" "$perjob_ser_tms"
line "session (warm)" "$warm_ser" "$warm_ser_ms" "$warm_ser_tms" "$perjob_ser" "$perjob_ser_ms"
echo "warm session, $warm_runs one-task jobs: submit -> first task median $(median "${first[@]}" | ms) ms" \
  "(max $(printf '%s\n' "${first[@]}" | sort -g | tail -1 | ms) ms); the session taking the job ->" \
  "first task median $(median "${inside[@]}" | ms) ms"
