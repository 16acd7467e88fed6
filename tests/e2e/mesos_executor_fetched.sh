# Agents with nothing of Tailor installed: the fake Mesos' agents, and the
# executors they start, run with a PATH on which tailor-taskmanager is not
# found. A job told to run the installed executor (--taskmanager-executor
# tailor-taskmanager) fails there, and its error says the JobManager's own
# can be fetched instead; with no executor given, the JobManager
# serves its own tailor-taskmanager, the agents' fetcher downloads it into
# every TaskManager's sandbox, and the job finishes with the right output
# (docs/mesos.md, "How the executor reaches the agents").
source "$(dirname "$0")/lib.sh" "$1"

AGENT_PATH=/usr/local/bin:/usr/bin:/bin
if env PATH="$AGENT_PATH" sh -c 'command -v tailor-taskmanager' > /dev/null; then
  fail "setup: tailor-taskmanager is installed on $AGENT_PATH; the test needs agents without it"
fi

mkdir -p "$TMP/example"
cp "$ROOT/examples/wordcount/job.yaml" "$TMP/example/job.yaml"
generate_input "$TMP/example/data" 4 4
independent_counts "$TMP"/example/data/*.txt | sort -k2,2nr -k1,1 > "$TMP/all"
head -n 100 "$TMP/all" > "$TMP/want"

saved_path="$PATH"
export PATH="$AGENT_PATH"
start_fake bare
export PATH="$saved_path"
agents="$TMP/bare-agents"

# tailor run CASE [flags...]: the job on the bare agents, with no executor flag
# unless given; sets JOB_PID (run_on_mesos always names the build's executor).
run_bare() {
  local case="$1"
  shift
  "$BIN/tailor" run "$TMP/example/job.yaml" --mesos-master "$FAKE_ADDR" --mesos-refuse 1s \
    --output "$TMP/out-$case" --report "$TMP/report-$case.json" --work-dir "$TMP/work-$case" \
    "$@" > "$TMP/run-$case.log" 2>&1 &
  JOB_PID=$!
  background_pids+=("$JOB_PID")
}

# 1. The installed executor: not there, so no TaskManager ever starts.
run_bare installed --taskmanager-executor tailor-taskmanager
if wait "$JOB_PID"; then fail "installed: the job finished, so the agents found tailor-taskmanager"; fi
grep -q "TaskManagers in a row ended before registering" "$TMP/run-installed.log" ||
  { cat "$TMP/run-installed.log"; fail "installed: the job did not fail for its TaskManagers"; }
grep -rqs "tailor-taskmanager: not found" "$agents" --include=stderr ||
  fail "installed: no sandbox's stderr says tailor-taskmanager was not found"
grep -q "leave --taskmanager-executor out to have the agents fetch the JobManager's own" \
  "$TMP/run-installed.log" || { cat "$TMP/run-installed.log"; fail "installed: the error does not say the executor can be fetched"; }
pass "with --taskmanager-executor tailor-taskmanager the job fails on agents without it, and says the executor can be fetched"

# 2. No executor given: fetched from the JobManager.
run_bare fetched
wait "$JOB_PID" || { cat "$TMP/run-fetched.log"; tail -30 "$TMP/work-fetched/jobmanager.log"; fail "fetched: job failed"; }
cmp -s "$TMP/out-fetched/part-00000" "$TMP/want" || fail "fetched: top-100 differs"
expect_json "$TMP/report-fetched.json" '.job.status == "FINISHED"' "fetched: report says FINISHED"
pass "with no executor given the job FINISHED with the right top-100 words"

log="$TMP/work-fetched/jobmanager.log"
jobmanager="$(sed -n 's/.*JobManager on \([0-9.]*:[0-9]*\), .*/\1/p' "$log" | head -1)"
[ -n "$jobmanager" ] || fail "no JobManager address in $log"
uri="$(sed -n 's/.*the agents fetch the TaskManagers.* executor .* from \(http:[^ ]*\)$/\1/p' "$log" | head -1)"
[[ "$uri" == "http://$jobmanager/artifacts/"*"/tailor-taskmanager" ]] ||
  fail "the executor's URI '$uri' is not on the JobManager at $jobmanager"

job_id="$(jq -r .job.id "$TMP/report-fetched.json")"
curl -s "$FAKE/fake/state" > "$TMP/state.json"
framework="$(jq -r --arg name "tailor-job-$job_id" '.frameworks[] | select(.name == $name) | .id' "$TMP/state.json")"
[ -n "$framework" ] || fail "no framework tailor-job-$job_id in the fake's state"
sandboxes="$(ls -d "$agents"/slaves/*/frameworks/"$framework"/executors/tm-*/runs/* 2> /dev/null || true)"
launched="$(jq '[.taskmanagers[] | select(.launched_at > 0)] | length' "$TMP/report-fetched.json")"
[ -n "$sandboxes" ] || fail "no TaskManager sandboxes under $agents"
[ "$(echo "$sandboxes" | wc -l)" = "$launched" ] ||
  fail "$(echo "$sandboxes" | wc -l) sandboxes for $launched launched TaskManagers"
for sandbox in $sandboxes; do
  grep -qF "Fetched '$uri' to '$sandbox/tailor-taskmanager'" "$sandbox/stderr" ||
    { cat "$sandbox/stderr"; fail "$sandbox: the fetcher did not fetch $uri"; }
  [ -x "$sandbox/tailor-taskmanager" ] || fail "$sandbox/tailor-taskmanager is not executable"
  cmp -s "$sandbox/tailor-taskmanager" "$BIN/tailor-taskmanager" ||
    fail "$sandbox/tailor-taskmanager is not the JobManager's tailor-taskmanager"
  grep -q "registered with the ResourceManager" "$sandbox/taskmanager.log" ||
    { tail "$sandbox/taskmanager.log"; fail "$sandbox: the fetched TaskManager did not register"; }
done
pass "$launched TaskManagers ran the tailor-taskmanager the fetcher got from $uri"
