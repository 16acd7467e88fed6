#!/usr/bin/env bash
# Latency of getting work running on Mesos (the fake master, real executor
# processes), against the local driver measured in the same run:
#  - submit to first task: the job's submitted_at to the first stage's
#    started_at (its first attempt deployed into a slot, which runs at once);
#  - TaskManager requested to registered (offer wait + launch + start), and
#    launched to registered (process spawned, or ACCEPT sent, to registered).
# On Mesos twice: with the executor installed (--taskmanager-executor, the
# build's tailor-taskmanager) and with it fetched from the JobManager (no
# executor flag: the agents' fetcher downloads it into each sandbox), as a
# ratio fetched / installed.
# usage: bench/mesos_latency.sh BIN_DIR [ROUNDS=5] [ALLOCATION_INTERVAL=1s]
set -euo pipefail
bin="$(cd "${1:?usage: mesos_latency.sh BIN_DIR [ROUNDS] [ALLOCATION_INTERVAL]}" && pwd)"
rounds="${2:-5}"
interval="${3:-1s}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/tailor-bench.XXXXXX")"
fake_pid=""
trap '[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

seq 1 20000 > "$tmp/in.txt"
cat > "$tmp/job.yaml" <<YAML
name: latency
stages:
  - name: first
    parallelism: 2
    resources: {cpus: 0.25, mem: 64}
    input: {files: ["in.txt"]}
    command: cat
  - name: second
    parallelism: 1
    resources: {cpus: 0.5, mem: 256}
    inputs: [{stage: first}]
    command: wc -l
YAML

"$bin/fake-mesos" --port 0 --allocation-interval "$interval" --work-dir "$tmp/agents" \
  --agent cpus=2,mem=4096,disk=20000,ports=31000-31099 \
  --agent cpus=4,mem=8192,disk=20000,ports=31100-31199 > "$tmp/fake.out" 2> "$tmp/fake.log" &
fake_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/fake.out" && break; sleep 0.05; done
master="127.0.0.1:$(sed -n 's/^fake-mesos listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/fake.out")"

run() {  # run NAME flags...
  local name="$1"
  shift
  "$bin/tailor" run "$tmp/job.yaml" --report "$tmp/$name.json" --output "$tmp/out-$name" \
    --work-dir "$tmp/work-$name" "$@" > /dev/null 2>&1 || { echo "run $name failed" >&2; exit 1; }
}

echo "round | driver | submit->first task (ms) | TM requested->registered (ms) | TM launched->registered (ms)"
for round in $(seq "$rounds"); do
  run "local-$round" --local-resources cpus=2,mem=4096
  run "mesos-$round" --mesos-master "$master" --taskmanager-executor "$bin/tailor-taskmanager"
  run "fetched-$round" --mesos-master "$master"
  for driver in local mesos fetched; do
    jq -r --arg r "$round" --arg d "$driver" '
      [(.stages | map(.started_at) | min) - .job.submitted_at] as [$first]
      | [.taskmanagers[] | select(.registered_at > 0)] as $tms
      | "\($r) | \($d) | \($first * 1000 | round) | \($tms | map((.registered_at - .requested_at) * 1000 | round) | join(","))"
        + " | \($tms | map((.registered_at - .launched_at) * 1000 | round) | join(","))"' \
      "$tmp/$driver-$round.json"
  done
done

echo
echo "medians over all rounds:"
for driver in local mesos fetched; do
  first=$(jq -s '[.[] | (.stages | map(.started_at) | min) - .job.submitted_at] | sort | .[length/2|floor] * 1000 | round' "$tmp"/$driver-*.json)
  req=$(jq -s '[.[] | .taskmanagers[] | select(.registered_at > 0) | .registered_at - .requested_at] | sort | .[length/2|floor] * 1000 | round' "$tmp"/$driver-*.json)
  launch=$(jq -s '[.[] | .taskmanagers[] | select(.registered_at > 0) | .registered_at - .launched_at] | sort | .[length/2|floor] * 1000 | round' "$tmp"/$driver-*.json)
  echo "$driver: submit->first task ${first} ms, TM requested->registered ${req} ms, launched->registered ${launch} ms"
  eval "${driver}_first=$first; ${driver}_req=$req; ${driver}_launch=$launch"
done
awk -v a="$mesos_first" -v b="$local_first" -v c="$mesos_req" -v d="$local_req" 'BEGIN {
  printf "ratios mesos/local: submit->first task %.2f, TM requested->registered %.2f\n", a / (b > 0 ? b : 1), c / (d > 0 ? d : 1) }'
awk -v a="$fetched_launch" -v b="$mesos_launch" -v c="$fetched_req" -v d="$mesos_req" 'BEGIN {
  printf "ratios fetched/installed executor: TM launched->registered %.2f, requested->registered %.2f\n",
    a / (b > 0 ? b : 1), c / (d > 0 ? d : 1) }'
echo "(fake master allocation interval $interval; the real master's default is 1s;" \
  "tailor-taskmanager is $(($(stat -c %s "$bin/tailor-taskmanager") / 1024 / 1024)) MiB)"
