# Two Dispatchers on one ZooKeeper state store: one leads, one stands by.
# The leader is SIGKILLed with 100 submissions in flight: the standby leads
# within a few seconds, every submission that was answered with an id exists
# exactly once (none twice: the CLI's retries carry the submission id), and
# every job finishes with correct output. Then ZooKeeper itself is restarted
# while jobs run: they finish, nothing is lost.
source "$(dirname "$0")/lib.sh" "$1"

start_zookeeper
STORE="zk://127.0.0.1:$ZK_PORT/tailor"
export TAILOR_DISPATCHER="$STORE"

start_ha_dispatcher a --max-running-jobs 6
a_pid="$HA_PID"
wait_for "leading: this Dispatcher" "$TMP/a.log" 10
start_ha_dispatcher b --max-running-jobs 6
b_pid="$HA_PID"
b_addr="$HA_ADDR"
wait_for "standing by; the leading Dispatcher is" "$TMP/b.log" 10
status="$(curl -s -o /dev/null -w '%{http_code}' "http://$b_addr/v1/jobs")"
[ "$status" = 307 ] || fail "the standby answered /v1/jobs with $status, not 307 to the leader"
status="$(curl -s -o /dev/null -w '%{http_code}' "http://$b_addr/ready")"
[ "$status" = 503 ] || fail "the standby's /ready answered $status, not 503"
pass "one Dispatcher leads, the other stands by (307 to the leader, not ready)"

seq 1 2000 > "$TMP/numbers.txt"
cat > "$TMP/job.yaml" <<YAML
name: ha
stages:
  - name: copy
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'cat'
YAML

# 100 submissions, 10 at a time; the leader dies once 30 were sent.
for i in $(seq 1 100); do
  ( "$BIN/tailor" submit "$TMP/job.yaml" > "$TMP/submit-$i.out" 2> "$TMP/submit-$i.err"
    echo $? > "$TMP/submit-$i.rc" ) &
  if [ $((i % 10)) = 0 ]; then wait_started=$SECONDS; fi
  if [ "$i" = 30 ]; then
    sleep 0.2
    kill -9 "$a_pid"
    killed_at=$(date +%s.%N)
  fi
  if [ $((i % 10)) = 0 ]; then
    while [ "$(ls "$TMP"/submit-*.rc 2>/dev/null | wc -l)" -lt $((i - 5)) ]; do sleep 0.05; done
  fi
done
wait_for "leading: this Dispatcher" "$TMP/b.log" 30
led_at="$(date -d "$(sed -n 's/^\([0-9T:.-]*\) I \[dispatcher\] leading: .*/\1/p' "$TMP/b.log" | head -1)" +%s.%N)"
takeover="$(echo "$led_at - $killed_at" | bc)"
deadline=$((SECONDS + 120))
while [ "$(ls "$TMP"/submit-*.rc 2>/dev/null | wc -l)" -lt 100 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "submissions still unanswered after 120 s"
  sleep 0.2
done
failed=0
: > "$TMP/ids"
for i in $(seq 1 100); do
  if [ "$(cat "$TMP/submit-$i.rc")" != 0 ]; then
    failed=$((failed + 1))
    echo "submission $i: $(cat "$TMP/submit-$i.err")" >&2
    continue
  fi
  sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit-$i.out" >> "$TMP/ids"
done
[ "$failed" = 0 ] || fail "$failed submissions failed"
[ "$(sort -u "$TMP/ids" | wc -l)" = 100 ] || fail "100 answers but $(sort -u "$TMP/ids" | wc -l) distinct ids"
"$BIN/tailor" list --limit 1000 -o json > "$TMP/list.json"
expect_json "$TMP/list.json" '(.jobs | length) == 100' "exactly 100 jobs stored (no submission made two)"
for id in $(cat "$TMP/ids"); do
  [ "$(jq --arg id "$id" '[.jobs[] | select(.id == $id)] | length' "$TMP/list.json")" = 1 ] \
    || fail "job $id is not stored exactly once"
done
pass "leader SIGKILLed with 100 submissions in flight: the standby led after ${takeover}s; 100 ids, each stored once"

# All finish, with correct output (jobs of the dead leader's JobManagers adopted).
deadline=$((SECONDS + 240))
while true; do
  "$BIN/tailor" list --limit 1000 -o json > "$TMP/list.json"
  done_count="$(jq '[.jobs[] | select(.state == "FINISHED")] | length' "$TMP/list.json")"
  bad="$(jq -r '[.jobs[] | select(.state == "FAILED" or .state == "CANCELED") | .id] | join(" ")' "$TMP/list.json")"
  [ -z "$bad" ] || { "$BIN/tailor" status "${bad%% *}"; fail "jobs ended badly: $bad"; }
  [ "$done_count" = 100 ] && break
  [ "$SECONDS" -lt "$deadline" ] || fail "only $done_count of 100 jobs FINISHED after 240 s"
  sleep 1
done
for id in $(cat "$TMP/ids"); do
  cmp -s <(cat "$(job_field "$id" .output)"/part-*) "$TMP/numbers.txt" || fail "job $id: output differs"
done
pass "all 100 jobs FINISHED with correct output"

# ZooKeeper restarted while jobs run: they finish; records were kept.
cat > "$TMP/slow.yaml" <<YAML
name: through-zk-restart
stages:
  - name: copy
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'sleep 3; cat'
YAML
"$BIN/tailor" submit "$TMP/slow.yaml" > "$TMP/slow.out"
slow_id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/slow.out")"
wait_job_state "$slow_id" RUNNING 30
bash "$ZK_SCRIPT" restart "$ZK_DIR" > /dev/null
wait_job_state "$slow_id" FINISHED 60
cmp -s <(sort -n "$(job_field "$slow_id" .output)"/part-*) "$TMP/numbers.txt" || fail "output differs after the ZooKeeper restart"
kill -0 "$b_pid" 2>/dev/null || fail "the Dispatcher died with the ZooKeeper restart"
[ "$("$BIN/tailor" list --limit 1000 -o json | jq '.jobs | length')" = 101 ] || fail "records lost"
pass "ZooKeeper restarted mid-job: the job FINISHED, the Dispatcher kept leading, 101 records"
