# Mesos master failover through ZooKeeper, mid-job. A private ZooKeeper, two
# fake masters contending under /mesos and a third fake-mesos process with the
# agents only (they register with whichever master leads); `tailor run
# --mesos-master zk://.../mesos` runs the full wordcount, and the leading master
# is SIGKILLed while the tokenizers run, so that their TaskManagers live on
# through the failover and the counters' are launched by the new leader. The
# job must finish with the right output, the JobManager must have subscribed
# to the new leader with the same framework id, and every TaskManager must
# have been launched once and never lost (no task ran twice).
source "$(dirname "$0")/lib.sh" "$1"

start_zookeeper
ZK="zk://127.0.0.1:$ZK_PORT/mesos"

start_zk_process master-a
MASTER_A="$ADDR"
PID_A="$PID"
wait_leader "$MASTER_A" "$MASTER_A" 20
start_zk_process master-b
MASTER_B="$ADDR"
wait_leader "$MASTER_B" "$MASTER_A" 20
start_zk_process agents --no-master --work-dir "$TMP/agents" \
  --agent cpus=1,mem=1024,disk=20000,ports=31000-31099 \
  --agent cpus=2,mem=4096,disk=20000,ports=31100-31199 \
  --agent cpus=4,mem=8192,disk=20000,ports=31200-31299
AGENTS="$ADDR"
deadline=$((SECONDS + 20))
until [ "$(curl -s "http://$MASTER_A/fake/state" | jq '.agents | length')" = 3 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the agents did not register with $MASTER_A"
  sleep 0.05
done

generate_input "$TMP/data" 4 4
independent_counts "$TMP"/data/*.txt | sort > "$TMP/want"
write_slow_wordcount_job "$TMP/job.yaml" "$TMP/data" 2

started=$SECONDS
"$BIN/tailor" run "$TMP/job.yaml" --mesos-master "$ZK" \
  --taskmanager-executor "$BIN/tailor-taskmanager" --mesos-refuse 1s \
  --output "$TMP/out" --report "$TMP/report.json" --work-dir "$TMP/work" > "$TMP/run.log" 2>&1 &
JOB_PID=$!
background_pids+=("$JOB_PID")
# Killed once the tokenizers run and no launch is on its way (one in flight
# would be lost with the master, as on Mesos, and its TaskManager relaunched).
wait_for "stage tokenize started" "$TMP/run.log" 60
deadline=$((SECONDS + 30))
until requested="$(grep -c 'taskmanager tm-[0-9]* requested' "$TMP/run.log")" &&
      [ "$requested" -gt 0 ] &&
      [ "$(grep -c 'taskmanager tm-[0-9]* registered' "$TMP/run.log")" = "$requested" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the tokenizers' TaskManagers did not register"
  sleep 0.05
done
kill -9 "$PID_A"
killed_at=$SECONDS
wait_leader "$MASTER_B" "$MASTER_B" 20
echo "master $MASTER_A killed; $MASTER_B leads after $((SECONDS - killed_at))s"
wait "$JOB_PID" || { cat "$TMP/run.log"; tail -40 "$TMP/work/jobmanager.log"; fail "the job failed"; }
echo "job finished in $((SECONDS - started))s"

# The output.
sort "$TMP"/out/part-* | cmp -s - "$TMP/want" || fail "output differs"

# The same framework, subscribed again to the new leader it found in ZooKeeper.
log="$TMP/work/jobmanager.log"
ids="$(grep -o 'as framework [^ ]*' "$log" | awk '{ print $3 }' | sort -u)"
[ "$(echo "$ids" | wc -l)" -eq 1 ] || fail "subscribed as different frameworks: $ids"
grep -q "the leading master is now $MASTER_B" "$log" || fail "the JobManager did not detect $MASTER_B"
grep -q "subscribed to $MASTER_A as framework $ids" "$log" || fail "never subscribed to $MASTER_A"
grep -q "subscribed to $MASTER_B as framework $ids" "$log" || fail "did not subscribe to $MASTER_B as $ids"
grep -q "framework $ids (.*) subscribed again after the master failover" "$TMP/master-b.log" ||
  grep -q "framework $ids (.*) subscribed on stream" "$TMP/master-b.log" ||
  fail "$MASTER_B has no subscription of $ids"

# Every TaskManager launched once, none lost, no task run twice.
launches="$(cat "$TMP/master-a.log" "$TMP/master-b.log" | grep -o "launches task tm-[0-9]*" | awk '{ print $3 }')"
expect_launched_once "master failover" "$launches"
grep -q "launches task tm-" "$TMP/master-a.log" || fail "$MASTER_A launched no TaskManager"
grep -q "launches task tm-" "$TMP/master-b.log" || fail "$MASTER_B launched no TaskManager"
expect_json "$TMP/report.json" "(.taskmanagers | length) == $(echo "$launches" | wc -l)" \
  "the report lists every TaskManager launched"
expect_json "$TMP/report.json" 'all(.taskmanagers[]; .exit | startswith("lost") | not)' "no TaskManager lost"
expect_json "$TMP/report.json" 'all(.stages[]; .attempts == .parallelism)' "no task ran twice"

# The new leader saw every TaskManager end and the framework go; no executor is left.
curl -s "http://$MASTER_B/fake/state" > "$TMP/state.json"
expect_json "$TMP/state.json" 'all(.frameworks[]; .torn_down)' "framework torn down at the new leader"
expect_json "$TMP/state.json" 'all(.tasks[]; .completed)' "every TaskManager task ended"
# ... those launched by the dead master too: the agents brought them along.
expect_json "$TMP/state.json" "([.tasks[].id] | sort) == $(echo "$launches" | sort | jq -R . | jq -sc .)" \
  "the new leader knows every TaskManager task"
wait_json "http://$AGENTS/fake/state" '.executors | length == 0' 20 "executors left on the agents"
pass "master $MASTER_A SIGKILLed mid-job: $MASTER_B took over, framework $ids subscribed to it again, $(echo "$launches" | wc -l) TaskManagers launched once each ($(grep -c "launches task tm-" "$TMP/master-a.log") by $MASTER_A, $(grep -c "launches task tm-" "$TMP/master-b.log") by $MASTER_B), output correct"
