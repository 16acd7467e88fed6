# Agent restarts mid-job. A private ZooKeeper, a fake master and a fake-mesos
# process with the agents only; the agents' process is SIGKILLed while the
# tokenizers run and started again on the same work directory and port,
# AGENTS_AWAY seconds (2 by default) after the master saw it go.
#
# With --mesos-checkpoint (Tailor's default) the TaskManagers keep running,
# the restarted agents recover them from their checkpoint and they subscribe
# again: the job finishes with the right output, no TaskManager lost and none
# launched twice, no task run twice. Without it the master reports the
# TaskManagers' tasks lost when the agents go, the TaskManagers give up on
# their agent, and the job redoes their work on new TaskManagers: still the
# right output.
source "$(dirname "$0")/lib.sh" "$1"

start_zookeeper
ZK="zk://127.0.0.1:$ZK_PORT/mesos"
MESOS_MASTER="$ZK"

# The agents' process, on AGENTS_PORT once it is known (a restart keeps it:
# the executors were told where their agent is). Their port ranges are below
# the kernel's ephemeral ports (32768 and up), which any client connection on
# the machine may hold, and below the ranges other tests pick (20000 and up).
AGENTS_PORT=0
start_agents() {
  start_zk_process agents --port "$AGENTS_PORT" --no-master --work-dir "$TMP/agents" \
    --agent cpus=1,mem=1024,disk=20000,ports=17000-17099 \
    --agent cpus=2,mem=4096,disk=20000,ports=17100-17199 \
    --agent cpus=4,mem=8192,disk=20000,ports=17200-17299
  AGENTS="$ADDR"
  AGENTS_PID="$PID"
  AGENTS_PORT="${ADDR##*:}"
}

# agents_connected N: the master has N agents connected.
agents_connected() {
  echo "[.agents[] | select(.connected)] | length == $1"
}

start_zk_process master
MASTER="$ADDR"
start_agents
wait_json "http://$MASTER/fake/state" "$(agents_connected 3)" 20 "the agents did not register"
agent_ids="$(curl -s "http://$MASTER/fake/state" | jq -c '[.agents[].id] | sort')"

generate_input "$TMP/data" 4 4
independent_counts "$TMP"/data/*.txt | sort > "$TMP/want"
slow_count='sleep 1; awk -F "\t" "{ c[\$1] += \$2 } END { for (w in c) print w \"\t\" c[w] }"'
write_full_wordcount_job "$TMP/job.yaml" "$TMP/data" "$slow_count"
sed -i 's/^      tr -cs/      sleep 3; tr -cs/' "$TMP/job.yaml"  # slow tokenizers
grep -q "sleep 3; tr -cs" "$TMP/job.yaml" || fail "the tokenizers were not slowed down"

# restart_mid_job CASE [tailor run flags...]: runs the job; once the tokenizers
# run and every TaskManager asked for has registered (no launch on its way),
# SIGKILLs the agents' process and starts it again. Sets FRAMEWORK, BEFORE
# (the TaskManager tasks running then, one per line) and STARTED (seconds).
restart_mid_job() {
  local case="$1"
  shift
  STARTED=$SECONDS
  run_on_mesos "$case" "$TMP/job.yaml" "$@"
  wait_for "stage tokenize started" "$TMP/run-$case.log" 60
  local deadline=$((SECONDS + 30)) requested settled
  until requested="$(grep -c 'taskmanager tm-[0-9]* requested' "$TMP/run-$case.log")" &&
        settled="$(grep -c 'taskmanager tm-[0-9]* \(registered\|lost\)' "$TMP/run-$case.log")" &&
        [ "$requested" -gt 0 ] && [ "$settled" = "$requested" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$case: the tokenizers' TaskManagers did not register"
    sleep 0.05
  done
  FRAMEWORK="$(grep -o 'as framework [^ ]*' "$TMP/work-$case/jobmanager.log" | awk '{ print $3 }' | sort -u)"
  [ "$(echo "$FRAMEWORK" | wc -l)" = 1 ] || fail "$case: subscribed as several frameworks: $FRAMEWORK"
  BEFORE="$(curl -s "http://$MASTER/fake/state" |
    jq -r --arg fw "$FRAMEWORK" '.tasks[] | select(.framework_id == $fw and (.completed | not)) | .id' | sort)"
  [ -n "$BEFORE" ] || fail "$case: no TaskManager runs"
  grep -q "stage tokenize finished" "$TMP/run-$case.log" && fail "$case: the tokenizers finished too soon"
  kill -9 "$AGENTS_PID"
  wait "$AGENTS_PID" 2>/dev/null || true
  echo "== $case: agents' process killed $((SECONDS - STARTED))s into the job, with $(echo "$BEFORE" | wc -l) TaskManager(s) running"
  # The master notices at once; the agents stay away a while.
  wait_json "http://$MASTER/fake/state" "$(agents_connected 0)" 10 "$case: the master did not see the agents go"
  sleep "${AGENTS_AWAY:-2}"
  start_agents
  [ "$(curl -s "http://$MASTER/fake/state" | jq -c '[.agents[].id] | sort')" = "$agent_ids" ] ||
    fail "$case: the restarted agents have other ids"
}

# finish CASE: waits for the job and checks its output.
finish() {
  local case="$1"
  wait "$JOB_PID" || { cat "$TMP/run-$case.log"; tail -40 "$TMP/work-$case/jobmanager.log"; fail "$case: the job failed"; }
  echo "== $case: job finished in $((SECONDS - STARTED))s"
  sort "$TMP"/out-$case/part-* | cmp -s - "$TMP/want" || fail "$case: output differs"
  curl -s "http://$MASTER/fake/state" > "$TMP/state-$case.json"
}

# launches: the TaskManager tasks the master launched for FRAMEWORK.
launches() {
  grep -o "framework $FRAMEWORK launches task tm-[0-9]*" "$TMP/master.log" | awk '{ print $5 }'
}

# --- With checkpointing ------------------------------------------------------------

restart_mid_job checkpoint
finish checkpoint
launched="$(launches)"
expect_launched_once checkpoint "$launched"
state="$TMP/state-checkpoint.json"
# The master's TaskManager tasks are those launched, each once: no duplicate.
expect_json "$state" "([.tasks[] | select(.framework_id == \"$FRAMEWORK\") | .id] | sort) == $(echo "$launched" | sort | jq -R . | jq -sc .)" \
  "checkpoint: the master has one task per TaskManager launched"
expect_json "$state" 'all(.frameworks[]; .torn_down)' "checkpoint: framework torn down"
expect_json "$state" 'all(.tasks[]; .completed)' "checkpoint: every TaskManager task ended"
report="$TMP/report-checkpoint.json"
expect_json "$report" "(.taskmanagers | length) == $(echo "$launched" | wc -l)" "checkpoint: the report lists every TaskManager launched"
expect_json "$report" 'all(.taskmanagers[]; .exit | startswith("lost") | not)' "checkpoint: no TaskManager lost"
expect_json "$report" 'all(.stages[]; .attempts == .parallelism)' "checkpoint: no task ran twice"
# Those running at the restart lived on: recovered, subscribed again.
for tm in $BEFORE; do
  grep -q "recovered executor $tm of framework $FRAMEWORK" "$TMP/agents.log" || fail "checkpoint: $tm was not recovered"
  grep -q "executor $tm of framework $FRAMEWORK subscribed again after the restart" "$TMP/agents.log" ||
    fail "checkpoint: $tm did not subscribe again"
  log="$(find "$TMP/agents" -path "*/frameworks/$FRAMEWORK/executors/$tm/runs/*/taskmanager.log" | head -1)"
  [ -n "$log" ] || fail "checkpoint: no log of $tm"
  [ "$(grep -c "executor $tm subscribed to agent" "$log")" -ge 2 ] || fail "checkpoint: $tm's log shows no second subscription"
  grep -q "lost agent .* subscribing again in" "$log" || fail "checkpoint: $tm's log shows no disconnection"
done
grep -q "removing framework .* from disconnected agent" "$TMP/master.log" &&
  fail "checkpoint: the master removed a checkpointing framework from a disconnected agent"
pass "checkpoint: agents SIGKILLed and restarted mid-job; $(echo "$BEFORE" | wc -l) running TaskManager(s) recovered and subscribed again; $(echo "$launched" | wc -l) TaskManagers launched once each, none lost, no task ran twice, output correct ($((SECONDS - STARTED))s)"

# --- Without checkpointing -------------------------------------------------------------

wait_json "http://$MASTER/fake/state" "$(agents_connected 3)" 20 "the agents did not register again"
master_lines_before="$(wc -l < "$TMP/master.log")"
restart_mid_job no-checkpoint --mesos-checkpoint=false
finish no-checkpoint
launched="$(launches)"
expect_launched_once no-checkpoint "$launched"
tail -n +"$((master_lines_before + 1))" "$TMP/master.log" > "$TMP/master-no-checkpoint.log"
grep -q "removing framework $FRAMEWORK from disconnected agent .*: it does not checkpoint" "$TMP/master-no-checkpoint.log" ||
  fail "no-checkpoint: the master did not remove the framework from the disconnected agents"
report="$TMP/report-no-checkpoint.json"
for tm in $BEFORE; do
  expect_json "$report" "any(.taskmanagers[]; .id == \"$tm\" and (.exit | startswith(\"lost\")))" \
    "no-checkpoint: $tm is reported lost"
  grep -q "taskmanager $tm lost: TASK_LOST (REASON_AGENT_DISCONNECTED)" "$TMP/run-no-checkpoint.log" ||
    fail "no-checkpoint: $tm was not lost with its agent"
  grep -q "recovered executor $tm of framework $FRAMEWORK" "$TMP/agents.log" && fail "no-checkpoint: $tm was recovered"
done
new_tms="$(comm -13 <(echo "$BEFORE") <(echo "$launched" | sort) | wc -l)"
[ "$new_tms" -gt 0 ] || fail "no-checkpoint: no new TaskManager after the restart"
expect_json "$report" '[.stages[] | select(.name == "tokenize") | .attempts > .parallelism] | all' \
  "no-checkpoint: the lost tokenizers ran again"
# The lost TaskManagers are gone: no executor is left on the agents ...
wait_json "http://$AGENTS/fake/state" '.executors | length == 0' 20 \
  "no-checkpoint: executors left on the agents"
# ... and no TaskManager process of this test is left either.
for pid in $(pgrep -f tailor-taskmanager || true); do
  case "$(readlink "/proc/$pid/cwd" 2>/dev/null)" in
    "$TMP"/*) fail "no-checkpoint: TaskManager process $pid (in $(readlink "/proc/$pid/cwd")) still runs" ;;
  esac
done
pass "no-checkpoint: agents SIGKILLed and restarted mid-job; the $(echo "$BEFORE" | wc -l) TaskManager(s) running were lost (TASK_LOST) and their work redone on $new_tms new one(s), output correct ($((SECONDS - STARTED))s)"
