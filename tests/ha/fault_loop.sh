#!/usr/bin/env bash
# Fault injection for high availability, run by hand (not in CI): jobs run
# through two Dispatchers sharing a private ZooKeeper (the JobManagers on the
# local launcher, or with --mesos as Mesos tasks on the fake Mesos), and each
# run injects one fault at a random moment of its job:
#   jm-kill          the job's JobManager SIGKILLed
#   dispatcher-kill  the leading Dispatcher SIGKILLed (started again as a
#                    standby, as Marathon would)
#   zk-restart       the ZooKeeper server restarted
#   tm-kill          one TaskManager SIGKILLed
#   agent-restart    (--mesos) the agent of a running Mesos task killed and
#                    started again (/fake/restart-agent)
#   none             no fault
# A run passes when its job FINISHED with the right output. Bounded in runs
# and in time; prints how many passed, per fault.
#
# usage: tests/ha/fault_loop.sh BIN_DIR [--runs N] [--time S] [--mesos] [--seed N]
#          [--faults F,F...]   (only these faults; default all)
# With --keep, the work folder is left behind (its path printed) to read the logs.
set -euo pipefail
bin="${1:?usage: fault_loop.sh BIN_DIR [--runs N] [--time S] [--mesos] [--seed N] [--faults F,F] [--keep]}"
shift
runs=20
limit=1200
mesos=0
seed=$$
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --faults) only="$2"; shift 2 ;;
    --keep) KEEP_TMP=1; shift ;;
    --runs) runs="$2"; shift 2 ;;
    --time) limit="$2"; shift 2 ;;
    --mesos) mesos=1; shift ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "fault_loop.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
RANDOM=$seed
source "$(dirname "$0")/../e2e/lib.sh" "$bin"

start_zookeeper
STORE="zk://127.0.0.1:$ZK_PORT/tailor"
export TAILOR_DISPATCHER="$STORE"
launcher=(--launcher local)
if [ "$mesos" = 1 ]; then
  start_fake fake
  launcher=(--launcher mesos --mesos-master "$FAKE_ADDR" --mesos-refuse 1s --jobmanager-resources cpus=0.2,mem=256)
fi

declare -A pids
start_one() {
  local name="$1"
  "$BIN/tailor-dispatcher" --port 0 --bind 127.0.0.1 --state-store "$STORE" \
    --work-dir "$TMP/$name-work" --zk-session-timeout 4s "${launcher[@]}" \
    --jobmanager-arg "--local-resources cpus=2,mem=4096 --taskmanager-idle-timeout 1s" \
    >> "$TMP/$name.out" 2>> "$TMP/$name.log" &
  pids[$name]=$!
  background_pids+=("$!")
}
start_one a
start_one b
# Either may lead (wait_for's failure would end the script at the first).
deadline=$((SECONDS + 20))
until grep -q "leading: this Dispatcher" "$TMP/a.log" "$TMP/b.log" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no Dispatcher leads"
  sleep 0.05
done

seq 1 20000 > "$TMP/numbers.txt"
cat > "$TMP/job.yaml" <<YAML
name: chaos
stages:
  - name: read
    parallelism: 3
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'sleep \$((RANDOM % 6)); cat'
  - name: sort
    parallelism: 1
    resources: {cpus: 0.2, mem: 64}
    inputs: [{stage: read, partitioning: hash}]
    command: 'sleep 2; sort -n'
YAML

leader_name() {
  for name in a b; do
    if [ -n "${pids[$name]:-}" ] && kill -0 "${pids[$name]}" 2>/dev/null &&
       [ "$(grep -c 'leading: this Dispatcher' "$TMP/$name.log")" -gt "$(grep -c 'no longer the leading' "$TMP/$name.log")" ]; then
      echo "$name"; return
    fi
  done
}

faults=(jm-kill dispatcher-kill zk-restart tm-kill none)
[ "$mesos" = 0 ] || faults+=(agent-restart)
if [ -n "$only" ]; then
  IFS=, read -r -a faults <<< "$only"
  for fault in "${faults[@]}"; do
    case "$fault" in
      jm-kill|dispatcher-kill|zk-restart|tm-kill|none) ;;
      agent-restart) [ "$mesos" = 1 ] || { echo "fault_loop.sh: agent-restart needs --mesos" >&2; exit 2; } ;;
      *) echo "fault_loop.sh: --faults: unknown fault '$fault' (expected jm-kill, dispatcher-kill, zk-restart, tm-kill, agent-restart, none)" >&2; exit 2 ;;
    esac
  done
fi
declare -A tried passed
started=$SECONDS
run=0
while [ "$run" -lt "$runs" ] && [ $((SECONDS - started)) -lt "$limit" ]; do
  run=$((run + 1))
  fault="${faults[$((RANDOM % ${#faults[@]}))]}"
  delay="$((RANDOM % 40))"  # tenths of a second
  tried[$fault]=$(( ${tried[$fault]:-0} + 1 ))
  if ! "$BIN/tailor" submit "$TMP/job.yaml" > "$TMP/run-$run.out" 2>&1; then
    echo "run $run ($fault): submit failed: $(tail -1 "$TMP/run-$run.out")"
    continue
  fi
  id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/run-$run.out")"
  sleep "$((delay / 10)).$((delay % 10))"
  case "$fault" in
    jm-kill) pkill -9 -f -- "tailor-jobmanager .*--job-id $id" || true ;;
    dispatcher-kill)
      name="$(leader_name)"
      if [ -n "$name" ]; then
        kill -9 "${pids[$name]}"; wait "${pids[$name]}" 2>/dev/null || true
        start_one "$name"
      fi ;;
    zk-restart) bash "$ZK_SCRIPT" restart "$ZK_DIR" > /dev/null ;;
    tm-kill) pkill -9 -o -f -- "tailor-taskmanager --taskmanager-id" || true ;;
    agent-restart)
      agent="$(curl -s "$FAKE/fake/state" | jq -r '[.tasks[] | select(.completed | not) | .agent] | first // empty')"
      [ -z "$agent" ] || curl -s -X POST "$FAKE/fake/restart-agent?agent=$agent" > /dev/null || true ;;
    none) ;;
  esac
  ok=0
  deadline=$((SECONDS + 180))
  while [ "$SECONDS" -lt "$deadline" ]; do
    state="$("$BIN/tailor" status "$id" -o json 2>/dev/null | jq -r .state || true)"
    case "$state" in
      FINISHED) ok=1; break ;;
      FAILED|CANCELED) break ;;
    esac
    sleep 0.5
  done
  if [ "$ok" = 1 ]; then
    output="$("$BIN/tailor" status "$id" -o json | jq -r .output)"
    sort -n "$output"/part-* 2>/dev/null | cmp -s - "$TMP/numbers.txt" || ok=0
  fi
  attempts="$("$BIN/tailor" status "$id" -o json 2>/dev/null | jq '.attempts | length' || echo '?')"
  # Task attempts over the job's 4 tasks: more means work was redone.
  tasks="$("$BIN/tailor" report "$id" 2>/dev/null | jq '[.stages[].attempts] | add' || echo '?')"
  if [ "$ok" = 1 ]; then
    passed[$fault]=$(( ${passed[$fault]:-0} + 1 ))
    echo "run $run: $fault after ${delay}00 ms: FINISHED, correct ($attempts JobManager attempts, $tasks task attempts for 4 tasks)"
  else
    echo "run $run: $fault after ${delay}00 ms: $state (job $id, $attempts JobManager attempts) -- FAILED RUN"
    "$BIN/tailor" status "$id" -o json 2>/dev/null | jq -r '.error, (.attempts[] | "  attempt \(.attempt): \(.exit)")' || true
  fi
done
total=0
ok_total=0
for fault in "${faults[@]}"; do
  total=$((total + ${tried[$fault]:-0}))
  ok_total=$((ok_total + ${passed[$fault]:-0}))
  echo "  $fault: ${passed[$fault]:-0} of ${tried[$fault]:-0} passed"
done
echo "fault_loop: $ok_total of $total runs passed in $((SECONDS - started)) s (seed $seed, $([ "$mesos" = 1 ] && echo "fake Mesos" || echo "local launcher"))"
[ "$ok_total" = "$total" ]
