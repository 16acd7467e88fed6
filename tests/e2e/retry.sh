# A task that exits non-zero is retried and the job succeeds; one that keeps
# failing fails the job after max_attempts with its stderr in the message.
source "$(dirname "$0")/lib.sh" "$1"

seq 1 5000 > "$TMP/numbers.txt"
cat > "$TMP/flaky.yaml" <<YAML
name: flaky
stages:
  - name: read
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: cat
  - name: sort
    parallelism: 2
    max_attempts: 3
    resources: {cpus: 0.1, mem: 32}
    inputs: [{stage: read, partitioning: hash}]
    command: 'if [ "\$TAILOR_ATTEMPT" -lt 3 ]; then echo "flaky failure \$TAILOR_ATTEMPT" >&2; exit 3; fi; sort -n'
YAML
"$BIN/tailor" run "$TMP/flaky.yaml" --output "$TMP/out" --report "$TMP/report.json" \
  --local-resources cpus=2,mem=2048 > "$TMP/run.log" 2>&1 || { cat "$TMP/run.log"; fail "flaky job failed"; }
sort -n "$TMP"/out/part-* | cmp -s - "$TMP/numbers.txt" || fail "output of the retried job differs"
expect_json "$TMP/report.json" '.stages[1] | .attempts == 6 and .failed_attempts == 4' "two failed attempts per task"
grep -q "failed: command failed: exit code 3 (will retry)" "$TMP/run.log" || fail "retries not shown"
pass "failed attempts were retried and the job succeeded"

cat > "$TMP/broken.yaml" <<YAML
name: broken
stages:
  - name: read
    parallelism: 1
    max_attempts: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'echo "disk on fire" >&2; exit 4'
YAML
if "$BIN/tailor" run "$TMP/broken.yaml" --output "$TMP/out2" --report "$TMP/report2.json" \
  --local-resources cpus=2,mem=2048 > "$TMP/run2.log" 2>&1; then
  fail "a job whose task always fails succeeded"
fi
grep -q 'stage "read" failed: task read\[0\] failed 2 of 2 attempts' "$TMP/run2.log" || { cat "$TMP/run2.log"; fail "no clear failure message"; }
grep -q "disk on fire" "$TMP/run2.log" || fail "stderr tail missing from the failure"
expect_json "$TMP/report2.json" '.job.status == "FAILED" and .stages[0].attempts == 2' "FAILED after 2 attempts"
expect_json "$TMP/report2.json" 'all(.taskmanagers[]; .released_at > 0)' "TaskManagers released after failure"
pass "a task failing every attempt fails the job with its stderr"
