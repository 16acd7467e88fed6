# The Dispatcher with the mesos launcher, on the fake Mesos: `tailor submit
# --wait` of the wordcount example -> the Dispatcher's framework (`tailor`)
# launches the JobManager as a Mesos command task whose binary and files the
# fetcher downloads from the Dispatcher -> the JobManager registers
# `tailor-job-<id>` -> TaskManagers of two sizes -> FINISHED with the right
# output; the fake's state shows both frameworks and the job's torn down.
# Then a cancelled job: CANCELED, its framework torn down, no task left.
source "$(dirname "$0")/lib.sh" "$1"

start_fake fake
start_dispatcher d --launcher mesos --mesos-master "$FAKE_ADDR" --mesos-refuse 1s \
  --jobmanager-resources cpus=0.2,mem=256

submit_example_wordcount "on Mesos"
id="$SUBMITTED_ID"
output="$SUBMITTED_OUTPUT"
case "$output" in */slaves/*) ;; *) fail "output '$output' is not in a Mesos sandbox" ;; esac
[ "$(job_field "$id" .output)" = "$output" ] || fail "status does not show the output of the report"

curl -s "$FAKE/fake/state" > "$TMP/state.json"
expect_json "$TMP/state.json" '[.frameworks[] | select(.name == "tailor")] | length == 1' "the Dispatcher's framework"
expect_json "$TMP/state.json" '[.frameworks[] | select(.name == "tailor")][0] | .torn_down | not' "Dispatcher's framework stays"
expect_json "$TMP/state.json" "[.frameworks[] | select(.name == \"tailor-job-$id\")] | length == 1" "the job's framework"
expect_json "$TMP/state.json" "[.frameworks[] | select(.name == \"tailor-job-$id\")][0].torn_down" "the job's framework torn down"
dispatcher_fw="$(jq -r '.frameworks[] | select(.name == "tailor") | .id' "$TMP/state.json")"
expect_json "$TMP/state.json" "[.tasks[] | select(.framework_id == \"$dispatcher_fw\")] | length == 1 and all(.[]; .state == \"TASK_FINISHED\")" \
  "one JobManager task, FINISHED"
expect_json "$TMP/state.json" "[.tasks[] | select(.framework_id != \"$dispatcher_fw\")] | length >= 2" "TaskManager tasks under the job's framework"
expect_json <("$BIN/tailor" status "$id" -o json) \
  '(.attempts | length) == 1 and .attempts[0].launcher == "mesos" and (.attempts[0].mesos_task_id | startswith("jobmanager-")) and .attempts[0].mesos_agent_id != "" and .attempts[0].address != ""' \
  "the attempt is a Mesos task"
pass "mesos launcher: JobManager as a Mesos task, its own framework, two TM sizes, correct output, torn down"

# Cancel of a running job on Mesos.
seq 1 1000 > "$TMP/numbers.txt"
submit_slow_job slow
slow="$SLOW_ID"
# A running task's stderr, read through its JobManager from its TaskManager.
[ "$("$BIN/tailor" logs "$slow" 'wait[1]')" = "task 1 waits" ] || fail "task log not served on Mesos"
expect_json <("$BIN/tailor" logs "$slow" 'wait[0]' --tail 6 -o json) '.data == "waits\n" and .path == "task wait[0]"' \
  "task log tail on Mesos"
"$BIN/tailor" cancel "$slow" > /dev/null || fail "cancel failed"
wait_job_state "$slow" CANCELED 30
deadline=$((SECONDS + 20))
until curl -s "$FAKE/fake/state" | jq -e "([.frameworks[] | select(.name == \"tailor-job-$slow\")][0].torn_down) and ([.tasks[] | select(.completed | not)] | length == 0)" > /dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || { curl -s "$FAKE/fake/state" | jq -c '.frameworks, [.tasks[] | select(.completed | not)]'; fail "cancelled job left tasks or its framework"; }
  sleep 0.2
done
if "$BIN/tailor" logs "$slow" 'wait[1]' 2> "$TMP/gone.err"; then fail "task log served with its TaskManager gone"; fi
grep -q "sandbox on the agent" "$TMP/gone.err" || { cat "$TMP/gone.err"; fail "no hint where the task log stays"; }
pass "mesos launcher: cancel ends CANCELED, framework torn down, no task left; task logs served while running"

# The Dispatcher SIGKILLed while a job runs on Mesos, then started again on
# the same state and port: it re-subscribes as the same framework, adopts the
# JobManager task (no second one), and the job finishes.
cat > "$TMP/through.yaml" <<YAML
name: through
stages:
  - name: read
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'sleep 4; cat'
  - name: sort
    parallelism: 1
    resources: {cpus: 0.1, mem: 64}
    inputs: [{stage: read}]
    command: sort -n
YAML
"$BIN/tailor" submit "$TMP/through.yaml" > "$TMP/through.log"
through="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/through.log")"
wait_job_state "$through" RUNNING 30
port="${DISPATCHER##*:}"
kill -9 "$DISPATCHER_PID"
wait "$DISPATCHER_PID" 2>/dev/null || true
start_dispatcher d --launcher mesos --mesos-master "$FAKE_ADDR" --mesos-refuse 1s \
  --jobmanager-resources cpus=0.2,mem=256 --port "$port"
grep -q "re-subscribing as framework $dispatcher_fw" "$TMP/d.log" || fail "did not re-subscribe as $dispatcher_fw"
grep -q "1 JobManagers adopted" "$TMP/d.log" || fail "the JobManager task was not adopted"
wait_job_state "$through" FINISHED 60
sort -n "$(job_field "$through" .output)"/part-* | cmp -s - "$TMP/numbers.txt" || fail "output differs"
curl -s "$FAKE/fake/state" > "$TMP/state2.json"
expect_json "$TMP/state2.json" '[.frameworks[] | select(.name == "tailor")] | length == 1' "still one Dispatcher framework"
expect_json "$TMP/state2.json" "[.tasks[] | select(.id | startswith(\"jobmanager-$through-\"))] | length == 1" \
  "one JobManager task for the job"
expect_json <("$BIN/tailor" status "$through" -o json) '(.attempts | length) == 1' "one attempt"
pass "mesos launcher: Dispatcher killed mid-job, same framework re-subscribed, JobManager adopted, FINISHED once"
