# The Dispatcher SIGKILLed mid-job and started again on the same state and
# port: the record is there, the running JobManager is adopted (no second
# one), `tailor status` shows the job the whole time after the restart, and
# the job finishes with correct output.
source "$(dirname "$0")/lib.sh" "$1"

start_dispatcher d
port="${DISPATCHER##*:}"

seq 1 30000 > "$TMP/numbers.txt"
cat > "$TMP/job.yaml" <<YAML
name: through-restart
stages:
  - name: read
    parallelism: 3
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'sleep 4; cat'
  - name: sort
    parallelism: 1
    resources: {cpus: 0.2, mem: 64}
    inputs: [{stage: read, partitioning: hash}]
    command: 'sleep 1; sort -n'
YAML
"$BIN/tailor" submit "$TMP/job.yaml" > "$TMP/submit.log"
id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit.log")"
wait_job_state "$id" RUNNING 20
jm_pid="$(job_field "$id" '.attempts[0].pid')"

kill -9 "$DISPATCHER_PID"
wait "$DISPATCHER_PID" 2>/dev/null || true
kill -0 "$jm_pid" 2>/dev/null || fail "the JobManager died with the Dispatcher"
sleep 1

start_dispatcher d --port "$port"
grep -q "1 JobManagers adopted" "$TMP/d.log" || { tail "$TMP/d.log"; fail "JobManager not adopted"; }
# From now on until it ends, status answers and shows the job.
deadline=$((SECONDS + 60))
while true; do
  state="$(job_field "$id" .state)" || fail "status failed after the restart"
  case "$state" in
    FINISHED) break ;;
    RUNNING|LAUNCHING) ;;
    *) "$BIN/tailor" status "$id"; fail "job went $state after the restart" ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || fail "job did not finish after the restart"
  sleep 0.2
done
sort -n "$(job_field "$id" .output)"/part-* | cmp -s - "$TMP/numbers.txt" || fail "output differs"
expect_json <("$BIN/tailor" status "$id" -o json) \
  "(.attempts | length) == 1 and .attempts[0].pid == $jm_pid" "one JobManager attempt, the adopted one"
[ ! -e "$TMP/d-state/jobs/$id/jobmanager-2.log" ] || fail "a second JobManager was started"
expect_json <("$BIN/tailor" report "$id") '.job.status == "FINISHED"' "report delivered after the restart"
pass "Dispatcher killed mid-job: record kept, JobManager adopted, job FINISHED once"

# A JobManager killed while no Dispatcher runs: the next Dispatcher sees it
# gone and starts attempt 2, which runs the job to its end.
"$BIN/tailor" submit "$TMP/job.yaml" > "$TMP/submit2.log"
id2="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit2.log")"
wait_job_state "$id2" RUNNING 20
jm2="$(job_field "$id2" '.attempts[0].pid')"
kill -9 "$DISPATCHER_PID"
wait "$DISPATCHER_PID" 2>/dev/null || true
kill -9 "$jm2"
start_dispatcher d --port "$port" --jobmanager-relaunch-backoff 200ms
wait_job_state "$id2" FINISHED 60
expect_json <("$BIN/tailor" status "$id2" -o json) \
  '(.attempts | length) == 2 and (.attempts[0].exit | test("away"))' "attempt 2 after the lost one"
sort -n "$(job_field "$id2" .output)"/part-* | cmp -s - "$TMP/numbers.txt" || fail "output of attempt 2 differs"
pass "JobManager lost while the Dispatcher was down: relaunched once, FINISHED"
