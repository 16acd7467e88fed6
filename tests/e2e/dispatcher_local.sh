# The Dispatcher with the local launcher: `tailor submit --wait` of the
# wordcount example gives the right output with TaskManagers of two sizes;
# two jobs at once, one failing, do not touch each other; a running job
# cancelled ends CANCELED with no TaskManager left.
source "$(dirname "$0")/lib.sh" "$1"

start_dispatcher d

# 1. The example, as a user would submit it.
submit_example_wordcount "of the example"
id="$SUBMITTED_ID"
[ "$(job_field "$id" .output)" = "$SUBMITTED_OUTPUT" ] || fail "status does not show the output of the report"
expect_json <("$BIN/tailor" status "$id" -o json) '(.attempts | length) == 1 and .attempts[0].exit == "exit code 0"' \
  "one JobManager, exited cleanly"
pass "submit --wait: example FINISHED with correct output and two TaskManager sizes"

# 2. Two jobs at once, one failing.
seq 1 20000 > "$TMP/numbers.txt"
cat > "$TMP/good.yaml" <<YAML
name: good
stages:
  - name: read
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'sleep 1; cat'
  - name: sort
    parallelism: 1
    resources: {cpus: 0.2, mem: 64}
    inputs: [{stage: read, partitioning: hash}]
    command: sort -n
YAML
cat > "$TMP/bad.yaml" <<YAML
name: bad
stages:
  - name: read
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: cat
  - name: explode
    parallelism: 1
    max_attempts: 2
    resources: {cpus: 0.1, mem: 32}
    inputs: [{stage: read}]
    command: 'echo "explosion in the sorter" >&2; exit 7'
YAML
"$BIN/tailor" submit "$TMP/good.yaml" --wait > "$TMP/good.log" 2>&1 &
good_pid=$!
"$BIN/tailor" submit "$TMP/bad.yaml" --wait > "$TMP/bad.log" 2>&1 &
bad_pid=$!
wait "$good_pid" || { cat "$TMP/good.log"; fail "the good job failed beside a failing one"; }
if wait "$bad_pid"; then fail "the failing job's submit --wait exited 0"; fi
good_id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/good.log")"
bad_id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/bad.log")"
sort -n "$(job_field "$good_id" .output)"/part-* | cmp -s - "$TMP/numbers.txt" || fail "good job's output differs"
"$BIN/tailor" status "$bad_id" > "$TMP/bad-status.txt"
grep -q "FAILED" "$TMP/bad-status.txt" || fail "failed job not FAILED"
grep -q 'stage "explode" failed' "$TMP/bad-status.txt" || { cat "$TMP/bad-status.txt"; fail "status does not name the stage"; }
grep -q "explosion in the sorter" "$TMP/bad-status.txt" || fail "status does not show the error"
pass "two jobs at once: the failing one is FAILED naming its stage, the other FINISHED correctly"

# 3. Cancel of a running job.
submit_slow_job slow
slow_id="$SLOW_ID"
[ "$("$BIN/tailor" logs "$slow_id" 'wait[1]')" = "task 1 waits" ] || fail "task log not served"
pgrep -f "tailor-taskmanager.*$slow_id" > /dev/null || fail "no TaskManager process found for the slow job"
"$BIN/tailor" cancel "$slow_id" > "$TMP/cancel.log" || fail "cancel failed"
wait_job_state "$slow_id" CANCELED 20
deadline=$((SECONDS + 10))
while pgrep -f "tailor-taskmanager.*$slow_id" > /dev/null || pgrep -f "tailor-jobmanager.*$slow_id" > /dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "processes of the cancelled job left behind"
  sleep 0.1
done
if "$BIN/tailor" cancel "$slow_id" 2> "$TMP/cancel2.log"; then fail "second cancel succeeded"; fi
grep -q "already ended CANCELED" "$TMP/cancel2.log" || fail "second cancel not explained"
pass "cancel: CANCELED, JobManager and TaskManagers gone"
