# The wordcount example on the fake Mesos master with three agents of
# different sizes: correct output, at least two TaskManager sizes, every TM
# task killed or finished, the framework torn down at the end.
source "$(dirname "$0")/lib.sh" "$1"

mkdir -p "$TMP/example"
cp "$ROOT/examples/wordcount/job.yaml" "$TMP/example/job.yaml"
generate_input "$TMP/example/data" 8 4
independent_counts "$TMP"/example/data/*.txt | sort -k2,2nr -k1,1 > "$TMP/all"
head -n 100 "$TMP/all" > "$TMP/want"

start_fake master
run_on_mesos example "$TMP/example/job.yaml"
wait "$JOB_PID" || { cat "$TMP/run-example.log"; fail "job failed on the fake Mesos"; }
cmp -s "$TMP/out-example/part-00000" "$TMP/want" || fail "top-100 differs"
pass "top-100 matches on Mesos"

r="$TMP/report-example.json"
expect_json "$r" '[.taskmanagers[] | [.resources.cpus, .resources.mem]] | unique | length >= 2' \
  "at least two distinct TaskManager sizes"
expect_json "$r" 'all(.taskmanagers[]; .registered_at > 0 and .released_at > 0)' "every TM registered and released"
curl -s "$FAKE/fake/state" > "$TMP/state.json"
expect_json "$TMP/state.json" '.frameworks | length == 1' "one framework"
expect_json "$TMP/state.json" '.frameworks[0].name | startswith("tailor-job-wordcount-")' "framework named tailor-job-<job id>"
expect_json "$TMP/state.json" '.frameworks[0].torn_down' "framework torn down at the end"
[ "$(jq '.tasks | length' "$TMP/state.json")" = "$(jq '[.taskmanagers[] | select(.launched_at > 0)] | length' "$r")" ] ||
  fail "one Mesos task per launched TaskManager"
expect_json "$TMP/state.json" 'all(.tasks[]; .state == "TASK_KILLED" or .state == "TASK_FINISHED")' \
  "every TM task killed or finished"
expect_json "$TMP/state.json" '[.tasks[].agent] | unique | length >= 2' "TaskManagers spread over agents"
pass "$(jq '.tasks | length' "$TMP/state.json") TaskManagers of $(jq '[.taskmanagers[] | [.resources.cpus, .resources.mem]] | unique | length' "$r") sizes on $(jq '[.tasks[].agent] | unique | length' "$TMP/state.json") agents; framework torn down"

# The same in JSON: the scheduler's calls and the executors' calls are
# Tailor's own JSON encoding, which the fake validates as the master does.
start_fake json
run_on_mesos json "$TMP/example/job.yaml" --mesos-content-type json
wait "$JOB_PID" || { cat "$TMP/run-json.log"; fail "job failed on the fake Mesos in JSON"; }
cmp -s "$TMP/out-json/part-00000" "$TMP/want" || fail "JSON: top-100 differs"
curl -s "$FAKE/fake/state" > "$TMP/state-json.json"
expect_json "$TMP/state-json.json" '.frameworks[0].torn_down and all(.tasks[]; .state == "TASK_KILLED" or .state == "TASK_FINISHED")' \
  "JSON: tasks ended and framework torn down"
grep -q "application/json" "$TMP/work-json/jobmanager.log" || fail "JSON: not subscribed in JSON"
executor_logs="$(find "$TMP/json-agents" -name taskmanager.log)"
[ -n "$executor_logs" ] || fail "JSON: no executor logs in the sandboxes"
for log in $executor_logs; do
  grep -q "subscribing to agent .* in application/json" "$log" || fail "JSON: $log did not subscribe in JSON"
done
pass "the same job with application/json on the wire"
