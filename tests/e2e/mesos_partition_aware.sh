# TaskManagers Mesos cannot account for after a master failover are not thrown
# away (docs/mesos.md, "Status updates"). Masters with an in-memory registry
# (--registry in_memory, as a real master that lost its registry): the new
# leader answers the JobManager's reconciliation TASK_UNKNOWN for every
# TaskManager whose agent has not registered with it yet.
#
# back: the leading master is SIGKILLed mid-job and the agents register with
#   the new one 4 s after it leads. The TaskManagers run on meanwhile (their
#   heartbeat lives), Mesos reports them running when their agent is back: none
#   is launched again, none lost, no task runs twice, output correct.
# gone: the leading master and the agents' process that runs the tokenizers'
#   TaskManagers are SIGKILLed mid-job; that agent never comes back, its
#   executors live on. After --mesos-unreachable-timeout (5 s) their
#   TaskManagers are given up and their work is redone on the other agents:
#   output correct, and the TaskManagers of the dead agent stop by themselves
#   (no orphan executor is left).
source "$(dirname "$0")/lib.sh" "$1"

start_zookeeper

wait_agents() {  # wait_agents MASTER COUNT SECONDS
  local deadline=$((SECONDS + $3))
  until [ "$(curl -s "http://$1/fake/state" | jq '[.agents[] | select(.connected)] | length')" = "$2" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$2 agents did not register with $1"
    sleep 0.05
  done
}

# start_masters CASE: two masters with an in-memory registry under /mesos-CASE;
# the first leads. Sets MASTER_A, PID_A, MASTER_B.
start_masters() {
  ZK="zk://127.0.0.1:$ZK_PORT/mesos-$1"
  start_zk_process "$1-master-a" --registry in_memory
  MASTER_A="$ADDR"
  PID_A="$PID"
  wait_leader "$MASTER_A" "$MASTER_A" 20
  start_zk_process "$1-master-b" --registry in_memory
  MASTER_B="$ADDR"
  wait_leader "$MASTER_B" "$MASTER_A" 20
}

# Agents' port ranges chosen per run, as start_fake does.
# Below the kernel's ephemeral ports (32768 and up), which client connections
# on the machine may hold.
port_base=$((20000 + (RANDOM % 25) * 500))
agent() {  # agent N CPUS MEM: the --agent value of the Nth agent's spec
  echo "cpus=$2,mem=$3,disk=20000,ports=$((port_base + $1 * 100))-$((port_base + $1 * 100 + 99))"
}

generate_input "$TMP/data" 4 4
independent_counts "$TMP"/data/*.txt | sort > "$TMP/want"
write_slow_wordcount_job "$TMP/job.yaml" "$TMP/data" 2
# gone: tokenizers that still run when their TaskManagers are given up.
write_slow_wordcount_job "$TMP/job-gone.yaml" "$TMP/data" 10

# wait_tokenizers_running CASE: waits until the tokenizers run and every TaskManager requested registered
# (no launch on its way, which would be lost with the master).
wait_tokenizers_running() {
  local log="$TMP/run-$1.log"
  wait_for "stage tokenize started" "$log" 60
  local deadline=$((SECONDS + 30)) requested
  until requested="$(grep -c 'taskmanager tm-[0-9]* requested' "$log")" &&
        [ "$requested" -gt 0 ] &&
        [ "$(grep -c 'taskmanager tm-[0-9]* registered' "$log")" = "$requested" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$1: the tokenizers' TaskManagers did not register"
    sleep 0.05
  done
}

# --- back: the agents register with the new leader 4 s after it leads -----------------

started=$SECONDS
start_masters back
start_zk_process back-agents --no-master --work-dir "$TMP/back-agents" \
  --failover-registration-delay 4s \
  --agent "$(agent 0 1 1024)" --agent "$(agent 1 2 4096)" --agent "$(agent 2 4 8192)"
AGENTS="$ADDR"
wait_agents "$MASTER_A" 3 20
MESOS_MASTER="$ZK" run_on_mesos back "$TMP/job.yaml"
wait_tokenizers_running back
kill -9 "$PID_A"
wait_leader "$MASTER_B" "$MASTER_B" 20
log="$TMP/work-back/jobmanager.log"
wait_for "tm-[0-9]* is TASK_UNKNOWN: Reconciliation: Task is unknown" "$log" 20
wait_for "tm-[0-9]* is TASK_RUNNING again" "$log" 30
FAKE="http://$MASTER_B" finish_on_mesos back
grep -q "Unknown agent reregistered" "$log" || fail "back: the master did not say the agent came back"
launches="$(cat "$TMP/back-master-a.log" "$TMP/back-master-b.log" | grep -o "launches task tm-[0-9]*" | awk '{ print $3 }')"
expect_launched_once back "$launches"
report="$TMP/report-back.json"
expect_json "$report" "(.taskmanagers | length) == $(echo "$launches" | wc -l)" \
  "back: the report lists every TaskManager launched"
expect_json "$report" 'all(.taskmanagers[]; .exit | startswith("lost") | not)' "back: no TaskManager lost"
expect_json "$report" 'all(.stages[]; .attempts == .parallelism)' "back: no task ran twice"
wait_json "http://$AGENTS/fake/state" '.executors | length == 0' 20 "back: executors left on the agents"
unknown="$(grep -o 'tm-[0-9]* is TASK_UNKNOWN' "$log" | sort -u | wc -l)"
pass "back: master SIGKILLed, agents back 4 s after the new leader: $unknown TaskManager(s) TASK_UNKNOWN meanwhile, kept and running again, $(echo "$launches" | wc -l) launched once each, output correct ($((SECONDS - started))s)"

# --- gone: the tokenizers' agent dies with the master and never comes back --------------

started=$SECONDS
start_masters gone
start_zk_process gone-doomed --no-master --work-dir "$TMP/gone-doomed" --agent "$(agent 3 2 4096)"
DOOMED="$ADDR"
DOOMED_PID="$PID"
wait_agents "$MASTER_A" 1 20
MESOS_MASTER="$ZK" run_on_mesos gone "$TMP/job-gone.yaml" --mesos-unreachable-timeout 5s
wait_tokenizers_running gone
start_zk_process gone-agents --no-master --work-dir "$TMP/gone-agents" \
  --agent "$(agent 4 2 4096)" --agent "$(agent 5 4 8192)"
AGENTS="$ADDR"
wait_agents "$MASTER_A" 3 20
pids="$(curl -s "http://$DOOMED/fake/state" | jq -r '.executors[].pid // empty')"
[ -n "$pids" ] || fail "gone: no executor runs on the agent to be killed"
for pid in $pids; do  # stopped at exit if the test fails
  background_pids+=("$pid")
done
kill -9 "$PID_A" "$DOOMED_PID"
wait_leader "$MASTER_B" "$MASTER_B" 20
log="$TMP/work-gone/jobmanager.log"
wait_for "tm-[0-9]* is TASK_UNKNOWN: Reconciliation: Task is unknown" "$log" 20
FAKE="http://$MASTER_B" finish_on_mesos gone
grep -q "given up while Mesos cannot reach it" "$log" || fail "gone: no TaskManager given up"
report="$TMP/report-gone.json"
expect_json "$report" \
  'any(.taskmanagers[]; .exit | test("^lost: TASK_UNKNOWN.*not seen running again within 5000 ms"))' \
  "gone: TaskManagers given up after the timeout"
expect_json "$report" '.stages[0].attempts > .stages[0].parallelism' \
  "gone: the tokenizers that ran on the given up TaskManagers ran again"
deadline=$((SECONDS + 20))
for pid in $pids; do
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "gone: executor $pid of the dead agent is still running"
    sleep 0.1
  done
done
wait_json "http://$AGENTS/fake/state" '.executors | length == 0' 20 "gone: executors left on the agents"
lost="$(jq '[.taskmanagers[] | select(.exit | startswith("lost: TASK_UNKNOWN"))] | length' "$report")"
pass "gone: master and an agent SIGKILLed, the agent never back: $lost TaskManager(s) given up after 5 s, their work redone, their $(echo "$pids" | wc -w) executor(s) stopped by themselves, output correct ($((SECONDS - started))s)"
