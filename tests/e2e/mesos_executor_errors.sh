# TaskManagers that cannot start on Mesos, on the fake Mesos: the job fails
# within 30 s and its error says why — the agent, the executor's exit status
# (the master's FAILURE event), what to check, and the last lines of the
# executor's stderr (read from the agent's sandbox with /files/read):
#  - --taskmanager-executor names a command that does not exist (exit 127);
#  - the executor writes to stderr and exits 3.
# And the job's framework links back: /master/frameworks shows its hostname
# (the JobManager's advertised host) and, under a Dispatcher, its webui_url
# (the job's page on the Dispatcher), which answers.
source "$(dirname "$0")/lib.sh" "$1"

echo hello > "$TMP/in.txt"
cat > "$TMP/job.yaml" <<YAML
name: broken-executor
stages:
  - name: cat
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["in.txt"]}
    command: cat
YAML

start_fake fake

# run_broken CASE EXECUTOR: runs the job with --taskmanager-executor EXECUTOR;
# it must fail within 30 s. Sets ERROR (the report's job error) and JOB_ID.
run_broken() {
  local case="$1" executor="$2"
  local started=$SECONDS
  if timeout 120 "$BIN/tailor" run "$TMP/job.yaml" --mesos-master "$FAKE_ADDR" \
    --taskmanager-executor "$executor" --mesos-refuse 1s --output "$TMP/out-$case" \
    --report "$TMP/report-$case.json" --work-dir "$TMP/work-$case" > "$TMP/run-$case.log" 2>&1; then
    fail "$case: the job succeeded with a broken executor"
  fi
  local took=$((SECONDS - started))
  [ "$took" -lt 30 ] || { cat "$TMP/run-$case.log"; fail "$case: the job took ${took}s to fail"; }
  expect_json "$TMP/report-$case.json" '.job.status == "FAILED"' "$case: FAILED"
  ERROR="$(jq -r .job.error "$TMP/report-$case.json")"
  JOB_ID="$(jq -r .job.id "$TMP/report-$case.json")"
  echo "$case: failed in ${took}s: $ERROR"
}

# expect_error CASE TEXT: the job error holds TEXT.
expect_error() {
  case "$ERROR" in
    *"$2"*) ;;
    *) fail "$1: the job error does not say '$2'" ;;
  esac
}

framework_of() {  # the id of the framework of job $1, as the master lists it
  curl -s "$FAKE/master/frameworks" |
    jq -r --arg name "tailor-job-$1" '[.frameworks[], .completed_frameworks[] | select(.name == $name)][0].id'
}

agents="$(curl -s "$FAKE/fake/state" | jq -r '[.agents[].id] | join(" ")')"

# 1. An executor command that is not on the agents' PATH.
run_broken missing tailor-no-such-executor
fw="$(framework_of "$JOB_ID")"
expect_error missing "TaskManagers in a row ended before registering"
expect_error missing "TASK_FAILED (REASON_EXECUTOR_TERMINATED): Executor terminated; on agent "
expect_error missing "(127.0.0.1): the executor ended with exit code 127"
expect_error missing "the shell found no command 'tailor-no-such-executor' on the agent's PATH"
expect_error missing "--taskmanager-executor-uri"
expect_error missing "of its stderr (/frameworks/$fw/executors/"
expect_error missing "tailor-no-such-executor: not found"
agent="$(echo "$ERROR" | sed -n 's/.*; on agent \([^ ]*\) (127\.0\.0\.1).*/\1/p' | head -1)"
case " $agents " in *" $agent "*) ;; *) fail "missing: '$agent' is not an agent of the fake ($agents)" ;; esac
pass "executor not found: exit code 127, what to check and the shell's complaint, agent $agent"

# 2. An executor that writes to stderr and exits 3.
cat > "$TMP/broken-executor" <<'SH'
#!/bin/sh
echo "broken-executor: cannot read /etc/tailor/missing.conf" >&2
exit 3
SH
chmod +x "$TMP/broken-executor"
run_broken exit3 "$TMP/broken-executor"
expect_error exit3 "the executor ended with exit code 3 (the TaskManager's own log is taskmanager.log"
expect_error exit3 "
    broken-executor: cannot read /etc/tailor/missing.conf"
pass "executor exits 3: exit code and its stderr line in the job's error"

# FrameworkInfo of `tailor run`: the JobManager's advertised host, no page.
curl -s "$FAKE/master/frameworks" > "$TMP/frameworks.json"
expect_json "$TMP/frameworks.json" \
  "[.completed_frameworks[] | select(.name == \"tailor-job-$JOB_ID\")][0] | .hostname == \"127.0.0.1\" and .webui_url == \"\"" \
  "tailor run: framework hostname is the advertised host, no webui_url"
pass "tailor run: FrameworkInfo.hostname 127.0.0.1, no webui_url"

# 3. Under a Dispatcher: the job's framework links to the job's page there.
start_dispatcher d --launcher mesos --mesos-master "$FAKE_ADDR" --mesos-refuse 1s \
  --jobmanager-resources cpus=0.2,mem=256
seq 1 100 > "$TMP/numbers.txt"
submit_slow_job slow
wait_json "$FAKE/master/frameworks" "any(.frameworks[]; .name == \"tailor-job-$SLOW_ID\")" 10 \
  "the job's framework is subscribed"
curl -s "$FAKE/master/frameworks" > "$TMP/frameworks-d.json"
expect_json "$TMP/frameworks-d.json" \
  "[.frameworks[] | select(.name == \"tailor-job-$SLOW_ID\")][0] | .hostname == \"127.0.0.1\" and .webui_url == \"http://$DISPATCHER/v1/jobs/$SLOW_ID\"" \
  "under a Dispatcher: webui_url is the job's page"
url="$(jq -r ".frameworks[] | select(.name == \"tailor-job-$SLOW_ID\") | .webui_url" "$TMP/frameworks-d.json")"
curl -sf "$url" > "$TMP/page.json" || fail "webui_url $url does not answer"
expect_json "$TMP/page.json" ".id == \"$SLOW_ID\" and .state == \"RUNNING\"" "webui_url shows the job"
"$BIN/tailor" cancel "$SLOW_ID" > /dev/null || fail "cancel failed"
wait_job_state "$SLOW_ID" CANCELED 30
pass "under a Dispatcher: webui_url $url answers with the job"
