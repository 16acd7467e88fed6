# Large jobs, each bounded so that a hang fails instead of blocking:
#  (a) local: 500 tiny `cat` tasks over 200,000 numbers, then one `sum` task;
#      the sum is right, and no TaskManager but (at most) the one for `sum` is
#      launched after `split` finished (no stale requests for a finished stage);
#  (b) the same shape with 200 tasks on a fake Mesos of ONE agent (cpus=1,
#      mem=2048): the sum is right, every TM task ended, the framework is gone,
#      and the holders of split's partitions moved them into the JobManager and
#      went, so that the sum's TaskManager fitted;
#  (c) a stage that needs cpus=2 on that one-agent fake (cpus=1) never fits:
#      with --placement-timeout 3s the job fails within 30 s, and the report's
#      error and the console name the stage, what a task needs, what the
#      closest offer lacks (docs/observability.md) and what the cluster offers.
source "$(dirname "$0")/lib.sh" "$1"

# start_one_agent_fake NAME: start_fake with a single agent of cpus=1,mem=2048;
# sets FAKE_ADDR and FAKE.
start_one_agent_fake() {
  local name="$1"
  "$BIN/fake-mesos" --port 0 --allocation-interval 100ms --work-dir "$TMP/$name-agents" \
    --agent cpus=1,mem=2048,disk=20000,ports=31000-31099 \
    > "$TMP/$name.out" 2> "$TMP/$name.log" &
  background_pids+=($!)
  wait_for "fake-mesos listening on 127.0.0.1:" "$TMP/$name.out" 10
  FAKE_ADDR="127.0.0.1:$(sed -n 's/^fake-mesos listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/$name.out")"
  FAKE="http://$FAKE_ADDR"
}

# write_sum_job DIR SPLIT_TASKS [SUM_CPUS]: the example job larger than the
# cluster (split -> sum over 200,000 numbers), in DIR/job.yaml.
write_sum_job() { "$ROOT/examples/large-sum/write-job" "$@"; }

# now: seconds since the epoch with fractions; elapsed START: seconds since START.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

want=$((200000 * 200001 / 2))

# (a) Local: 500 tasks of cpus=0.01 on cpus=2,mem=4096.
write_sum_job "$TMP/local" 500
start="$(now)"
timeout -k 10 120 "$BIN/tailor" run "$TMP/local/job.yaml" --local-resources cpus=2,mem=4096 \
  --output "$TMP/out-local" --report "$TMP/report-local.json" --work-dir "$TMP/work-local" \
  > "$TMP/run-local.log" 2>&1 || {
  rc=$?
  tail -20 "$TMP/run-local.log"
  fail "local: tailor run exited $rc after $(elapsed "$start") s (124: killed by the 120 s timeout)"
}
took="$(elapsed "$start")"
[ "$(cat "$TMP"/out-local/part-*)" = "$want" ] ||
  fail "local: the sum is '$(cat "$TMP"/out-local/part-* | head -c 200)', expected $want"
r="$TMP/report-local.json"
expect_json "$r" '.job.status == "FINISHED"' "local: job FINISHED"
# TaskManagers launched after `split` finished: at most the one that runs `sum`.
late_query='(.stages[] | select(.name == "split") | .finished_at) as $done
  | [.taskmanagers[] | select((.launched_at // 0) > $done)]'
late="$(jq "$late_query | length" "$r")"
[ "$late" -le 1 ] ||
  fail "local: $late TaskManagers launched after split finished (at most 1, for sum): $(jq -r "$late_query | map(\"\(.id) (cpus=\(.resources.cpus), \(.tasks_run // 0) tasks)\") | .[:5] + (if length > 5 then [\"...\"] else [] end) | join(\", \")" "$r")"
pass "local: 500 + 1 tasks, sum $want; job $(jq '.job.duration_seconds * 10 | round / 10' "$r") s ($took s wall), $(jq '[.taskmanagers[] | select((.launched_at // 0) > 0)] | length' "$r") TaskManagers launched, $late after split finished"

# (a2) Local, a sum larger than any holder: split's TaskManagers fill the 2 CPUs
# and keep its partitions; they must move them into the JobManager and go.
write_sum_job "$TMP/local-big" 100 1.5
timeout -k 10 120 "$BIN/tailor" run "$TMP/local-big/job.yaml" --local-resources cpus=2,mem=4096 \
  --output "$TMP/out-local-big" --report "$TMP/report-local-big.json" \
  --work-dir "$TMP/work-local-big" > "$TMP/run-local-big.log" 2>&1 || {
  tail -20 "$TMP/run-local-big.log"
  fail "local, big sum: tailor run failed"
}
[ "$(cat "$TMP"/out-local-big/part-*)" = "$want" ] || fail "local, big sum: the sum is wrong"
grep -q "are now served by the JobManager" "$TMP/work-local-big/jobmanager.log" ||
  fail "local, big sum: no partitions were moved into the JobManager"
pass "local, sum of 1.5 CPUs on 2: holders moved their partitions into the JobManager; job $(jq '.job.duration_seconds * 10 | round / 10' "$TMP/report-local-big.json") s"

# (b) Fake Mesos, one agent of cpus=1,mem=2048: 200 tasks, then the sum.
write_sum_job "$TMP/mesos" 200
start_one_agent_fake mesos
start="$(now)"
timeout -k 10 120 "$BIN/tailor" run "$TMP/mesos/job.yaml" --mesos-master "$FAKE_ADDR" \
  --taskmanager-executor "$BIN/tailor-taskmanager" --mesos-refuse 1s \
  --output "$TMP/out-mesos" --report "$TMP/report-mesos.json" --work-dir "$TMP/work-mesos" \
  > "$TMP/run-mesos.log" 2>&1 || {
  rc=$?
  tail -20 "$TMP/run-mesos.log"
  tail -20 "$TMP/work-mesos/jobmanager.log" 2>/dev/null || true
  fail "mesos: tailor run exited $rc after $(elapsed "$start") s (124: killed by the 120 s timeout)"
}
took="$(elapsed "$start")"
[ "$(cat "$TMP"/out-mesos/part-*)" = "$want" ] ||
  fail "mesos: the sum is '$(cat "$TMP"/out-mesos/part-* | head -c 200)', expected $want"
curl -s "$FAKE/fake/state" > "$TMP/state-mesos.json"
expect_json "$TMP/state-mesos.json" 'all(.frameworks[]; .torn_down)' "mesos: framework torn down"
expect_json "$TMP/state-mesos.json" 'all(.tasks[]; .completed)' "mesos: every TaskManager task ended"
# The sum fitted only because the holders of split's partitions made room: their
# partitions moved into the JobManager and they were released.
grep -q "are now served by the JobManager" "$TMP/work-mesos/jobmanager.log" ||
  fail "mesos: no partitions were moved into the JobManager"
expect_json "$TMP/report-mesos.json" \
  'any(.taskmanagers[]; .exit == "released at once: idle while demand waits for room")' \
  "mesos: a partition holder released to make room"
pass "mesos (one agent cpus=1,mem=2048): 200 + 1 tasks, sum $want; job $(jq '.job.duration_seconds * 10 | round / 10' "$TMP/report-mesos.json") s ($took s wall), $(jq '.tasks | length' "$TMP/state-mesos.json") TaskManagers; framework torn down"

# (c) A stage that no offer can ever hold: cpus=2 on an agent of cpus=1.
mkdir -p "$TMP/never/data"
seq 1 10 > "$TMP/never/data/tiny.txt"
cat > "$TMP/never/job.yaml" <<'YAML'
name: never-placeable
stages:
  - name: too-big
    parallelism: 1
    resources: {cpus: 2, mem: 64MiB}
    input: {files: ["data/tiny.txt"]}
    command: cat
YAML
start_one_agent_fake never
start="$(now)"
rc=0
timeout -k 10 60 "$BIN/tailor" run "$TMP/never/job.yaml" --mesos-master "$FAKE_ADDR" \
  --taskmanager-executor "$BIN/tailor-taskmanager" --mesos-refuse 1s --placement-timeout 3s \
  --output "$TMP/out-never" --report "$TMP/report-never.json" --work-dir "$TMP/work-never" \
  > "$TMP/run-never.log" 2>&1 || rc=$?
took="$(elapsed "$start")"
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  tail -20 "$TMP/run-never.log"
  fail "never: still running after 60 s (killed by the timeout)"
fi
[ "$rc" -ne 0 ] || fail "never: tailor run exited 0 for a job that cannot be placed"
awk -v t="$took" 'BEGIN { exit !(t <= 30) }' || fail "never: exited $rc only after $took s (expected within 30 s)"
[ -s "$TMP/report-never.json" ] || { tail -20 "$TMP/run-never.log"; fail "never: exited $rc after $took s without a report"; }
r="$TMP/report-never.json"
expect_json "$r" '.job.status == "FAILED"' "never: job FAILED"
error="$(jq -r '.job.error' "$r")"
for word in too-big cpus=2 cpus=1 "cpus short by 1.05 on the best offer"; do
  grep -qF -- "$word" <<< "$error" || fail "never: the report's error does not mention '$word': $error"
  grep -qF -- "$word" "$TMP/run-never.log" ||
    { tail -20 "$TMP/run-never.log"; fail "never: the console does not mention '$word'"; }
done
pass "never placeable: failed (exit $rc) after $took s: $error"
