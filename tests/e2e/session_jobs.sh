# Session mode end to end (docs/sessions.md), through the Dispatcher, with
# the local launcher (`local`, the default) or on the fake Mesos (`mesos`):
#   1. a session started; 20 short jobs of four profiles submitted to it,
#      five at a time; every output correct; each job's report names the
#      TaskManagers it used; fewer TaskManagers launched than jobs;
#   2. three jobs at once: one failing, one cancelled mid-run; the third
#      finishes with the right output;
#      a job whose task kills its TaskManager fails; the job beside it finishes;
#   3. the session stopped: no JobManager or TaskManager left.
# usage: session_jobs.sh BIN_DIR [local|mesos]
source "$(dirname "$0")/lib.sh" "$1"
mode="${2:-local}"

if [ "$mode" = mesos ]; then
  start_fake fake
  start_dispatcher d --launcher mesos --mesos-master "$FAKE_ADDR" --mesos-refuse 1s \
    --jobmanager-resources cpus=0.2,mem=256
else
  start_dispatcher d
fi

"$BIN/tailor" session start s1 --idle-timeout 60s > "$TMP/start.out" || fail "session start: $(cat "$TMP/start.out")"
wait_json "$TAILOR_DISPATCHER/v1/sessions/s1" '.state == "SESSION_RUNNING"' 60 "the session runs"

# 1. Twenty short jobs of four profiles, five at a time.
seq 1 3000 > "$TMP/numbers.txt"
profiles=("cpus: 0.1, mem: 32" "cpus: 0.2, mem: 64" "cpus: 0.25, mem: 128" "cpus: 0.5, mem: 96")
for p in 0 1 2 3; do
  cat > "$TMP/job$p.yaml" <<YAML
name: short$p
stages:
  - name: read
    parallelism: 2
    resources: {${profiles[$p]}}
    input: {files: ["numbers.txt"]}
    command: cat
  - name: sort
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    inputs: [{stage: read, partitioning: hash}]
    command: sort -n
YAML
done
started=$SECONDS
ids=()
for wave in 0 1 2 3; do
  pids=()
  for n in 0 1 2 3 4; do
    k=$((wave * 5 + n))
    "$BIN/tailor" submit --session s1 "$TMP/job$((k % 4)).yaml" --wait > "$TMP/submit$k.log" 2>&1 &
    pids+=($!)
  done
  for n in 0 1 2 3 4; do
    k=$((wave * 5 + n))
    wait "${pids[$n]}" || { cat "$TMP/submit$k.log"; fail "job $k of the session failed"; }
    ids+=("$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit$k.log")")
  done
done
for k in $(seq 0 19); do
  id="${ids[$k]}"
  [ -n "$id" ] || fail "no job id in submit$k.log"
  "$BIN/tailor" status "$id" -o json > "$TMP/status$k.json"
  expect_json "$TMP/status$k.json" '.state == "FINISHED" and .session == "s1"' "job $k FINISHED in session s1"
  output="$(jq -r .output "$TMP/status$k.json")"
  sort -n "$output"/part-* | cmp -s - "$TMP/numbers.txt" || fail "job $k ($id): output differs"
  "$BIN/tailor" report "$id" > "$TMP/report$k.json" || fail "no report for job $k"
  expect_json "$TMP/report$k.json" \
    '(.taskmanagers | length) >= 1 and all(.taskmanagers[]; .tasks_run >= 1) and
     ([.attempts[].taskmanager] | unique) == ([.taskmanagers[].id] | sort)' \
    "job $k's report names the TaskManagers it used"
done
curl -sf "$TAILOR_DISPATCHER/v1/sessions/s1" > "$TMP/session.json"
launched="$(jq '.taskmanagers_launched' "$TMP/session.json")"
[ "$launched" -ge 1 ] && [ "$launched" -lt 20 ] || fail "$launched TaskManagers launched for 20 jobs"
used="$(jq -s '[.[].taskmanagers[].id] | unique | length' "$TMP"/report*.json)"
pass "20 jobs in a session, $((SECONDS - started)) s: outputs correct, $launched TaskManagers launched ($used used), fewer than jobs"
# Each ended job's partitions and scratch space are gone from the warm
# TaskManagers (locally their folders are in the session's).
if [ "$mode" = local ]; then
  tms="$TMP/d-state/sessions/s1/work/taskmanagers"
  compgen -G "$tms/*/partitions" > /dev/null || fail "no partition folder under $tms: nothing to check"
  deadline=$((SECONDS + 10))
  while [ -n "$(find "$tms" -mindepth 3 -maxdepth 3 \( -path '*/partitions/*' -o -path '*/tasks/*' \) -print -quit)" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { find "$tms" -maxdepth 3 >&2; fail "ended jobs' partitions or scratch left on the TaskManagers"; }
    sleep 0.1
  done
  pass "the ended jobs' partitions and scratch space are removed from the warm TaskManagers"
else
  curl -s "$FAKE/fake/state" > "$TMP/state.json"
  expect_json "$TMP/state.json" '[.frameworks[] | select(.name == "tailor-session-s1")] | length == 1' \
    "the session's own framework, tailor-session-s1"
fi

# 2. Three at once: one fails, one is cancelled mid-run, the third finishes.
cat > "$TMP/fails.yaml" <<YAML
name: fails
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
    command: 'sleep 0.5; echo "explosion in the sorter" >&2; exit 7'
YAML
cat > "$TMP/cancelled.yaml" <<YAML
name: cancelled
stages:
  - name: wait
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'echo "waiting" >&2; sleep 60; cat'
YAML
cat > "$TMP/survivor.yaml" <<YAML
name: survivor
stages:
  - name: read
    parallelism: 3
    resources: {cpus: 0.2, mem: 64}
    input: {files: ["numbers.txt"]}
    command: 'sleep 2; cat'
  - name: sort
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    inputs: [{stage: read, partitioning: hash}]
    command: sort -n
YAML
submit_id() {  # FILE -> the id the Dispatcher gave
  "$BIN/tailor" submit --session s1 "$1" > "$TMP/sub.log" 2>&1 || { cat "$TMP/sub.log"; fail "submit $1"; }
  sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/sub.log"
}
survivor="$(submit_id "$TMP/survivor.yaml")"
fails="$(submit_id "$TMP/fails.yaml")"
cancelled="$(submit_id "$TMP/cancelled.yaml")"
wait_job_state "$cancelled" RUNNING 30
deadline=$((SECONDS + 30))
until [ "$("$BIN/tailor" logs "$cancelled" 'wait[0]' 2>/dev/null)" = "waiting" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the job to cancel never ran"
  sleep 0.1
done
"$BIN/tailor" cancel "$cancelled" > /dev/null || fail "cancel failed"
wait_job_state "$cancelled" CANCELED 30
wait_job_state "$fails" FAILED 60
wait_job_state "$survivor" FINISHED 60
"$BIN/tailor" status "$fails" | grep -q "explosion in the sorter" || fail "the failed job's error is not shown"
sort -n "$(job_field "$survivor" .output)"/part-* | cmp -s - "$TMP/numbers.txt" || fail "the survivor's output differs"
expect_json <("$BIN/tailor" report "$survivor") '.stages[0].failed_attempts == 0' "the survivor lost no attempt"
pass "three at once: one FAILED, one CANCELED mid-run, the third FINISHED with correct output"

# 2b. A task that kills its own TaskManager, beside a job that runs on: the
# killer fails once its task lost its TaskManager 4 times; the other job's
# work lost with those TaskManagers is redone, and it finishes.
cat > "$TMP/killer.yaml" <<YAML
name: killer
stages:
  - name: kill
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'sleep 0.3; kill -9 \$PPID; sleep 5'
YAML
survivor="$(submit_id "$TMP/survivor.yaml")"
killer="$(submit_id "$TMP/killer.yaml")"
wait_job_state "$killer" FAILED 90
"$BIN/tailor" status "$killer" | grep -q "lost its TaskManager 4 times" || {
  "$BIN/tailor" status "$killer"; fail "the killer's error does not say its task lost its TaskManagers"; }
wait_job_state "$survivor" FINISHED 90
sort -n "$(job_field "$survivor" .output)"/part-* | cmp -s - "$TMP/numbers.txt" || fail "the survivor's output differs"
# After a loss a task runs alone, so the killer cannot take a task of the
# survivor down with it twice.
expect_json <("$BIN/tailor" report "$survivor") \
  '[.attempts[] | select(.stage == "read")] | group_by(.index) | all(length <= 2)' \
  "no task of the survivor lost more than one attempt"
pass "a task killing its TaskManager: its job FAILED after 4 losses, the job beside it FINISHED with correct output"

# 3. Stopped: nothing left.
address="$(curl -sf "$TAILOR_DISPATCHER/v1/sessions/s1" | jq -r .address)"
[ -n "$address" ] && [ "$address" != null ] || fail "the session shows no address"
pgrep -f "tailor-taskmanager.*$address" > /dev/null || fail "no warm TaskManager of the session found"
"$BIN/tailor" session stop s1 > /dev/null || fail "session stop failed"
wait_json "$TAILOR_DISPATCHER/v1/sessions/s1" '.state == "SESSION_STOPPED"' 60 "the session stopped"
deadline=$((SECONDS + 20))
while pgrep -f "tailor-taskmanager.*$address" > /dev/null || pgrep -f "tailor-jobmanager.*--session s1" > /dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "processes of the session left behind"
  sleep 0.2
done
if [ "$mode" = mesos ]; then
  curl -s "$FAKE/fake/state" > "$TMP/state.json"
  expect_json "$TMP/state.json" '[.frameworks[] | select(.name == "tailor-session-s1")][0].torn_down' \
    "the session's framework torn down"
fi
pass "session stopped: no JobManager or TaskManager left"
