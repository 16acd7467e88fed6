# Two Dispatchers on a ZooKeeper store launching JobManagers on the fake Mesos,
# with no --release-url: TaskManager executors are fetched from a Dispatcher's
# /v1/artifacts/. The leading Dispatcher is SIGKILLed while the job's first
# stage runs; the JobManager goes on, and the larger TaskManager its second
# stage needs is fetched from the Dispatcher that leads then (the first
# stage's from the one that launched the JobManager). The job FINISHES once,
# with the right output, and no fetch failed.
source "$(dirname "$0")/lib.sh" "$1"

start_zookeeper
STORE="zk://127.0.0.1:$ZK_PORT/tailor"
export TAILOR_DISPATCHER="$STORE"
start_fake fake
mesos=(--launcher mesos --mesos-master "$FAKE_ADDR" --mesos-refuse 1s
       --jobmanager-resources cpus=0.2,mem=256)

start_ha_dispatcher a "${mesos[@]}"
a_pid="$HA_PID"
a_addr="$HA_ADDR"
wait_for "leading: this Dispatcher" "$TMP/a.log" 10
start_ha_dispatcher b "${mesos[@]}"
b_addr="$HA_ADDR"
wait_for "standing by; the leading Dispatcher is" "$TMP/b.log" 10

# The first stage waits for $TMP/go; the second needs a TaskManager no
# first-stage one can hold.
seq 1 3000 > "$TMP/numbers.txt"
cat > "$TMP/job.yaml" <<YAML
name: leader-fetch
stages:
  - name: read
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'until [ -e "$TMP/go" ]; do sleep 0.1; done; cat'
  - name: sort
    parallelism: 1
    resources: {cpus: 0.5, mem: 512}
    inputs: [{stage: read}]
    command: sort -n
YAML
"$BIN/tailor" submit "$TMP/job.yaml" > "$TMP/submit.out"
id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit.out")"
[ -n "$id" ] || fail "no job id printed"
deadline=$((SECONDS + 30))
until [ "$(job_field "$id" '[.stages[].running] | add')" = 2 ]; do
  [ "$SECONDS" -lt "$deadline" ] || { "$BIN/tailor" status "$id"; fail "the first stage never ran"; }
  sleep 0.1
done

# fetched_from ADDR: executor sandboxes of TaskManagers whose executor came from ADDR.
agents="$TMP/fake-agents"
fetched_from() {
  grep -l -- "^Fetched 'http://$1/v1/artifacts/tailor-taskmanager'" \
    "$agents"/slaves/*/frameworks/*/executors/tm-*/runs/*/stderr 2>/dev/null | wc -l
}
[ "$(fetched_from "$a_addr")" -ge 1 ] || fail "the first stage's TaskManagers were not fetched from $a_addr"
pass "the first stage's TaskManagers fetched from the launching Dispatcher ($a_addr)"

kill -9 "$a_pid"
wait "$a_pid" 2>/dev/null || true
wait_for "leading: this Dispatcher" "$TMP/b.log" 20
jm_log="$(find "$agents" -path "*/executors/jobmanager-$id-1/*" -name jobmanager.log | head -1)"
[ -n "$jm_log" ] || fail "no JobManager log in the agents' sandboxes"
# The JobManager learns the new leader from its next failed report.
wait_for "the leading Dispatcher is now $b_addr" "$jm_log" 20
touch "$TMP/go"
wait_job_state "$id" FINISHED 60
cmp -s <(cat "$(job_field "$id" .output)"/part-*) "$TMP/numbers.txt" || fail "output differs"
expect_json <("$BIN/tailor" status "$id" -o json) '(.attempts | length) == 1' \
  "one JobManager attempt (not restarted by the new leader)"
[ "$(fetched_from "$b_addr")" -ge 1 ] || {
  grep -h "^Fetched\|^Failed" "$agents"/slaves/*/frameworks/*/executors/tm-*/runs/*/stderr >&2
  fail "no TaskManager fetched its executor from the new leader $b_addr"
}
grep -q "fetch their executor from the Dispatcher at $b_addr" "$jm_log" ||
  fail "the JobManager did not log its switch to $b_addr"
failed="$(cat "$agents"/slaves/*/frameworks/*/executors/*/runs/*/stderr | grep -c "^Failed to fetch" || true)"
[ "$failed" = 0 ] || fail "$failed fetches failed"
! grep -q "could not fetch" "$TMP/fake.log" || fail "the fake Mesos could not fetch some URIs"
pass "launching Dispatcher SIGKILLed: the second stage's TaskManager fetched from the new leader ($b_addr), FINISHED once, output correct"
