# Faults on the fake Mesos master, each on a fresh fake, each job's output
# checked against `sort | uniq -c`:
#  - the event stream cut mid-job: re-subscribe with the same framework id;
#  - 503 then 307 on SUBSCRIBE: follow to the leader;
#  - an offer rescinded before use: no launch on it;
#  - a TaskManager's executor killed: its work is redone on a new TM;
#  - a launch that fails (TASK_FAILED from the agent): retried.
source "$(dirname "$0")/lib.sh" "$1"

generate_input "$TMP/data" 4 4
independent_counts "$TMP"/data/*.txt | sort > "$TMP/want"
slow_count='sleep 1.5; awk -F "\t" "{ c[\$1] += \$2 } END { for (w in c) print w \"\t\" c[w] }"'
write_full_wordcount_job "$TMP/job.yaml" "$TMP/data" "$slow_count"

framework_ids() {  # the framework ids the JobManager subscribed as, in order
  grep -o "as framework [^ ]*" "$TMP/work-$1/jobmanager.log" | awk '{ print $3 }'
}

# 1. The event stream is cut while the counters run.
start_fake cut
run_on_mesos cut "$TMP/job.yaml"
wait_for "stage count started" "$TMP/run-cut.log" 60
fake_post /fake/drop-stream
finish_on_mesos cut
ids="$(framework_ids cut | sort -u)"
[ "$(framework_ids cut | wc -l)" -ge 2 ] || fail "cut: did not subscribe again"
[ "$(echo "$ids" | wc -l)" -eq 1 ] || fail "cut: subscribed as different frameworks: $ids"
pass "stream cut mid-job: re-subscribed as $ids and finished"

# 2. SUBSCRIBE answered 503, then 307 to the leading master.
start_fake leader
LEADER="$FAKE_ADDR"
LEADER_URL="$FAKE"
start_fake follower
fake_post "/fake/fail-subscribe?status=503&count=1"
fake_post "/fake/redirect?to=$LEADER&count=1"
run_on_mesos redirect "$TMP/job.yaml"
FAKE="$LEADER_URL"
finish_on_mesos redirect
grep -q "answered 503" "$TMP/work-redirect/jobmanager.log" || fail "redirect: no 503 seen"
grep -q "following the redirect to $LEADER" "$TMP/work-redirect/jobmanager.log" || fail "redirect: not followed"
expect_json "$TMP/state-redirect.json" '.frameworks | length == 1' "redirect: the leader has the framework"
pass "503 then 307: followed to the leader $LEADER and finished"

# 3. The next offer is rescinded right after it is sent: no launch on it.
start_fake rescind
fake_post "/fake/rescind-next?count=1"
run_on_mesos rescind "$TMP/job.yaml"
finish_on_mesos rescind
grep -q "rescinded before use; dropped" "$TMP/work-rescind/jobmanager.log" || fail "rescind: not dropped"
expect_json "$TMP/state-rescind.json" 'all(.tasks[]; .state != "TASK_LOST")' "rescind: no launch on a rescinded offer"
pass "rescinded offer dropped, nothing launched on it"

# 4. The executor of the counters' TaskManager is killed mid-run.
start_fake kill
run_on_mesos kill "$TMP/job.yaml"
wait_for "stage count started" "$TMP/run-kill.log" 60
victim="$(grep -o 'deploying count\[0\]#1 to tm-[0-9]*' "$TMP/work-kill/jobmanager.log" | awk '{ print $4 }')"
[ -n "$victim" ] || fail "kill: no TaskManager runs count[0]"
fake_post "/fake/kill-executor?task=$victim"
finish_on_mesos kill
expect_json "$TMP/report-kill.json" "any(.taskmanagers[]; .id == \"$victim\" and (.exit | startswith(\"lost\")))" "kill: $victim lost"
expect_json "$TMP/report-kill.json" '.stages[1].attempts > 3' "kill: counters ran again"
pass "executor of $victim killed: its work was redone on a new TaskManager"

# 5. The agent fails the first launch.
start_fake launch
fake_post "/fake/fail-next-launch?count=1"
run_on_mesos launch "$TMP/job.yaml"
finish_on_mesos launch
expect_json "$TMP/state-launch.json" 'any(.tasks[]; .state == "TASK_FAILED")' "launch: a launch failed"
grep -q "ended before registering" "$TMP/work-launch/jobmanager.log" || fail "launch: failure not seen by the RM"
pass "failed launch retried and the job finished"
