# A job's JobManager SIGKILLed mid-job, once the first task finished: the
# Dispatcher starts attempt 2, which leads only once attempt 1 is gone and
# goes on from its state: the same Mesos framework id, attempt 1's
# TaskManagers adopted (they register again and keep their partitions and
# running attempts), the finished task not run again, the running ones taken
# over. Locally and on the
# fake Mesos; then on Mesos after a TEARDOWN of the job's framework: attempt 2
# is told the framework is removed, registers a new one once, and finishes
# (its TaskManagers went with the framework: that work is done again).
source "$(dirname "$0")/lib.sh" "$1"

seq 1 30000 > "$TMP/numbers.txt"
cat > "$TMP/job.yaml" <<YAML
name: failover
stages:
  - name: read
    parallelism: 3
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'sleep \$((TAILOR_TASK_INDEX * 3)); cat'
  - name: sort
    parallelism: 1
    resources: {cpus: 0.2, mem: 64}
    inputs: [{stage: read, partitioning: hash}]
    command: 'sort -n'
YAML

# submit_and_kill NAME: submits the job, waits until read[0] finished (the
# others still run), SIGKILLs its JobManager; sets ID.
submit_and_kill() {
  "$BIN/tailor" submit "$TMP/job.yaml" > "$TMP/$1.out"
  ID="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/$1.out")"
  local deadline=$((SECONDS + 60))
  until [ "$(job_field "$ID" '.stages[0].finished')" -ge 1 ] 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { "$BIN/tailor" status "$ID"; fail "$1: tasks never ran"; }
    sleep 0.1
  done
  pkill -9 -f -- "tailor-jobmanager .*--job-id $ID" || fail "$1: no JobManager process to kill"
}

# check_finished NAME: the job FINISHED with correct output after 2 attempts.
check_finished() {
  wait_job_state "$ID" FINISHED 120
  sort -n "$(job_field "$ID" .output)"/part-* | cmp -s - "$TMP/numbers.txt" || fail "$1: output differs"
  expect_json <("$BIN/tailor" status "$ID" -o json) '(.attempts | length) == 2' "$1: two JobManager attempts"
}

start_dispatcher local
submit_and_kill local
check_finished local
# check_resumed NAME LOG: attempt 2 adopted TaskManagers, kept the finished
# task and took over the running ones: no read task deployed again.
check_resumed() {
  local log="$2"
  grep -q "attempt 2 goes on from attempt 1" "$log" || { tail -20 "$log"; fail "$1: attempt 2 did not go on from attempt 1"; }
  grep -q "TaskManagers adopted, [1-9][0-9]* finished tasks kept, [1-9][0-9]* running attempts to take over" "$log" \
    || { grep "goes on from" "$log"; fail "$1: no finished task kept or no running attempt to take over"; }
  grep -q " registered from " "$log" || fail "$1: no TaskManager of attempt 1 registered again"
  grep -qE "taking over read\[[12]\]#1|read\[[12]\]#1 ended on .* while no JobManager listened" "$log" \
    || fail "$1: no running read attempt taken over"
  if grep -q "deploying read\[" "$log"; then grep "deploying read" "$log"; fail "$1: a read task ran again"; fi
  # The report (attempt 2's, counting attempt 1's attempts): each read task ran once.
  expect_json <("$BIN/tailor" report "$ID") \
    '([.stages[] | select(.name == "read")][0].attempts) == 3 and ([.stages[] | select(.name == "read")][0].failed_attempts) == 0' \
    "$1: the report counts 3 attempts of read (one per task: none ran twice)"
}

jm2="$TMP/local-state/jobs/$ID/jobmanager-2.log"
check_resumed local "$jm2"
pass "local: JobManager SIGKILLed; attempt 2 adopted attempt 1's TaskManagers, kept read[0]'s output, took over read[1] and read[2], output correct"
kill "$DISPATCHER_PID"; wait "$DISPATCHER_PID" 2>/dev/null || true

start_fake fake
start_dispatcher mesos --launcher mesos --mesos-master "$FAKE_ADDR" --mesos-refuse 1s \
  --jobmanager-resources cpus=0.2,mem=256
submit_and_kill mesos
check_finished mesos
jm2="$(find "$TMP/fake-agents" -path "*jobmanager-$ID-2/*" -name jobmanager.log | head -1)"
[ -n "$jm2" ] || fail "mesos: no log of attempt 2"
check_resumed mesos "$jm2"
curl -s "$FAKE/fake/state" > "$TMP/state.json"
expect_json "$TMP/state.json" "[.frameworks[] | select(.name == \"tailor-job-$ID\")] | length == 1" \
  "mesos: one framework for the job (attempt 2 subscribed again with its id)"
fw="$(jq -r ".frameworks[] | select(.name == \"tailor-job-$ID\") | .id" "$TMP/state.json")"
expect_json "$TMP/state.json" "[.tasks[] | select(.framework_id == \"$fw\") | select(.completed | not)] | length == 0" \
  "mesos: no TaskManager task left running"
pass "mesos: JobManager SIGKILLed; attempt 2 subscribed again as framework $fw, adopted the TaskManagers, kept read[0]'s output, took over the running reads, output correct"

submit_and_kill_after_teardown() {
  "$BIN/tailor" submit "$TMP/job.yaml" > "$TMP/teardown.out"
  ID="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/teardown.out")"
  local deadline=$((SECONDS + 60))
  until [ "$(job_field "$ID" '[.stages[].running] | add')" -ge 1 ] 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "teardown: tasks never ran"
    sleep 0.1
  done
  local framework
  framework="$(curl -s "$FAKE/fake/state" | jq -r ".frameworks[] | select(.name == \"tailor-job-$ID\") | .id")"
  curl -sf -X POST -d "frameworkId=$framework" "$FAKE/master/teardown" > /dev/null || fail "teardown refused"
  pkill -9 -f -- "tailor-jobmanager .*--job-id $ID" || true
}
submit_and_kill_after_teardown
check_finished teardown
curl -s "$FAKE/fake/state" > "$TMP/state2.json"
expect_json "$TMP/state2.json" "[.frameworks[] | select(.name == \"tailor-job-$ID\")] | length == 2" \
  "teardown: a new framework for the job, and only one"
pass "mesos: framework torn down, JobManager SIGKILLed; attempt 2 registered a new framework once, output correct"
