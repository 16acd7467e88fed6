# Shared helpers for the end-to-end tests. Each test is a bash script run by
# ctest as `bash TEST.sh BIN_DIR`; it runs the real binaries on the local
# cluster in a temporary directory and exits non-zero on failure.
set -euo pipefail

BIN="$(cd "${1:?usage: TEST.sh BIN_DIR}" && pwd)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/tailor-e2e.XXXXXX")"
export LC_ALL=C
background_pids=()

cleanup() {
  for pid in "${background_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  # What the Dispatcher started outlives it (session JobManagers, their
  # TaskManagers): everything whose command line names this test's folder.
  pkill -f -- "$TMP/" 2>/dev/null || true
  if [ -n "${ZK_DIR:-}" ]; then bash "$ZK_SCRIPT" kill "$ZK_DIR" > /dev/null 2>&1 || true; fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "kept $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT

# start_zookeeper: a private ZooKeeper server in $TMP/zk (tests/zookeeper/
# zk-server.sh), killed at exit; sets ZK_PORT, ZK_DIR and ZK_SCRIPT (for
# `bash "$ZK_SCRIPT" restart "$ZK_DIR"`).
ZK_SCRIPT="$ROOT/tests/zookeeper/zk-server.sh"
start_zookeeper() {
  ZK_DIR="$TMP/zk"
  ZK_PORT="$(bash "$ZK_SCRIPT" start "$ZK_DIR")"
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

pass() {
  echo "PASS: $*"
}

# generate_input DIR MIB FILES
generate_input() {
  "$ROOT/examples/wordcount/generate-input" "$1" "$2" "$3" >/dev/null
}

# Word counts of the files given, computed without Tailor: "word<TAB>count".
independent_counts() {
  cat "$@" | tr -cs 'A-Za-z' '\n' | tr 'A-Z' 'a-z' | grep -v '^$' | sort | uniq -c |
    awk '{ print $2 "\t" $1 }'
}

# submit_example_wordcount WHERE: `tailor submit --wait` of the wordcount example
# (4 MiB of input in $TMP/example/data) to $TAILOR_DISPATCHER; checks it
# FINISHED with TaskManagers of at least two sizes and the right top 100
# words. Sets SUBMITTED_ID and SUBMITTED_OUTPUT (the report's output folder);
# the report is $TMP/report.json. WHERE names the setup in failure messages;
# the Dispatcher's log $TMP/d.log, when there is one, is shown on failure.
submit_example_wordcount() {
  local where="$1"
  mkdir -p "$TMP/example"
  cp "$ROOT/examples/wordcount/job.yaml" "$TMP/example/"
  generate_input "$TMP/example/data" 4 4
  "$BIN/tailor" submit "$TMP/example/job.yaml" --wait > "$TMP/submit.log" 2>&1 || {
    cat "$TMP/submit.log"
    [ ! -f "$TMP/d.log" ] || tail -20 "$TMP/d.log"
    fail "submit --wait $where failed"
  }
  SUBMITTED_ID="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit.log")"
  [ -n "$SUBMITTED_ID" ] || fail "no job id printed"
  grep -q "^job $SUBMITTED_ID FINISHED in" "$TMP/submit.log" || fail "no FINISHED line"
  "$BIN/tailor" report "$SUBMITTED_ID" > "$TMP/report.json"
  expect_json "$TMP/report.json" '.job.status == "FINISHED"' "report says FINISHED"
  expect_json "$TMP/report.json" '[.taskmanagers[] | "\(.resources.cpus)/\(.resources.mem)"] | unique | length >= 2' \
    "TaskManagers of at least two sizes"
  SUBMITTED_OUTPUT="$(jq -r .output "$TMP/report.json")"
  independent_counts "$TMP"/example/data/*.txt | sort -k2,2nr -k1,1 > "$TMP/all"
  head -n 100 "$TMP/all" > "$TMP/want-top"
  cmp -s "$SUBMITTED_OUTPUT/part-00000" "$TMP/want-top" ||
    { diff "$SUBMITTED_OUTPUT/part-00000" "$TMP/want-top" | head; fail "top-100 differs"; }
}

# Fails unless the JSON expression (jq -e) holds for FILE.
expect_json() {
  local file="$1" expression="$2" what="$3"
  jq -e "$expression" "$file" >/dev/null || { jq -c . "$file" >&2; fail "$what (jq: $expression)"; }
}

# wait_json URL JQ SECONDS WHAT: waits until the JSON at URL satisfies JQ (jq -e);
# fails naming WHAT (with the JSON) if it does not within SECONDS.
wait_json() {
  local url="$1" expression="$2" seconds="$3" what="$4"
  local deadline=$((SECONDS + seconds))
  until curl -s "$url" | jq -e "$expression" > /dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { curl -s "$url" | jq -c . >&2; fail "$what (jq: $expression)"; }
    sleep 0.05
  done
}

# wait_for PATTERN FILE SECONDS: waits until FILE has a line matching PATTERN.
wait_for() {
  local pattern="$1" file="$2" seconds="$3"
  local deadline=$((SECONDS + seconds))
  until grep -q -- "$pattern" "$file" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "timed out waiting for '$pattern' in $file"
    fi
    sleep 0.05
  done
}

# The full wordcount job: tokenize (source) -> count (sink, hash partitioned).
write_full_wordcount_job() {
  local file="$1" data="$2" count_command="${3:-}"
  if [ -z "$count_command" ]; then
    count_command='awk -F "\t" "{ c[\$1] += \$2 } END { for (w in c) print w \"\t\" c[w] }"'
  fi
  cat > "$file" <<YAML
name: wordcount-full
stages:
  - name: tokenize
    parallelism: 6
    resources: {cpus: 0.125, mem: 64MiB}
    input: {files: ["$data/*.txt"]}
    env: {LC_ALL: C}
    command: >-
      tr -cs 'A-Za-z' '\n' | tr 'A-Z' 'a-z' | grep -v '^\$' | sort | uniq -c
      | awk '{ print \$2 "\t" \$1 }'
  - name: count
    parallelism: 3
    resources: {cpus: 0.25, mem: 512MiB}
    inputs: [{stage: tokenize, partitioning: hash}]
    env: {LC_ALL: C}
    command: '$count_command'
YAML
}

# write_slow_wordcount_job FILE DATA SECONDS: the full wordcount whose
# tokenizers sleep SECONDS first and counters 1 s, so that a test can act while
# they run.
write_slow_wordcount_job() {
  local file="$1" seconds="$3"
  local slow_count='sleep 1; awk -F "\t" "{ c[\$1] += \$2 } END { for (w in c) print w \"\t\" c[w] }"'
  write_full_wordcount_job "$file" "$2" "$slow_count"
  sed -i "s/^      tr -cs/      sleep $seconds; tr -cs/" "$file"
  grep -q "sleep $seconds; tr -cs" "$file" || fail "the tokenizers of $file were not slowed down"
}

# start_fake NAME [fake-mesos flags...]: starts the fake Mesos master with
# three agents of different sizes on a free port; sets FAKE_ADDR (host:port)
# and FAKE (its URL).
start_fake() {
  local name="$1"
  shift
  # The agents' port ranges: chosen per run (below the kernel's ephemeral
  # ports), so that runs at the same time on one machine do not offer the
  # same ports, as agents of a real cluster are on machines of their own.
  local base=$((20000 + (RANDOM % 30) * 300))
  "$BIN/fake-mesos" --port 0 --allocation-interval 100ms --work-dir "$TMP/$name-agents" \
    --agent "cpus=1,mem=1024,disk=20000,ports=$base-$((base + 99))" \
    --agent "cpus=2,mem=4096,disk=20000,ports=$((base + 100))-$((base + 199))" \
    --agent "cpus=4,mem=8192,disk=20000,ports=$((base + 200))-$((base + 299))" "$@" \
    > "$TMP/$name.out" 2> "$TMP/$name.log" &
  background_pids+=($!)
  wait_for "fake-mesos listening on 127.0.0.1:" "$TMP/$name.out" 10
  FAKE_ADDR="127.0.0.1:$(sed -n 's/^fake-mesos listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/$name.out")"
  FAKE="http://$FAKE_ADDR"
}

# start_fake_marathon: starts the fake Marathon (tests/fake_marathon) with its
# files in $TMP/marathon; sets MARATHON (its URL) and MARATHON_PID (the
# Dispatchers it runs are its children) and exports TAILOR_MARATHON.
start_fake_marathon() {
  local python3
  python3="$("$ROOT/tests/find-python3" jsonschema)"
  "$python3" "$ROOT/tests/fake_marathon/fake_marathon.py" --work-dir "$TMP/marathon" --port 0 \
    > "$TMP/marathon.out" 2> "$TMP/marathon.err" &
  MARATHON_PID=$!
  background_pids+=("$MARATHON_PID")
  wait_for "fake-marathon listening on http://" "$TMP/marathon.out" 20
  MARATHON="$(sed -n 's/^fake-marathon listening on \(http:[^ ]*\)$/\1/p' "$TMP/marathon.out")"
  export TAILOR_MARATHON="$MARATHON"
}

# start_zk_process NAME [fake-mesos flags...]: a fake-mesos of the cluster found
# through $ZK (a master unless --no-master); sets ADDR (host:port) and PID.
# Output in $TMP/NAME.out, log appended to $TMP/NAME.log (a restart adds to it).
start_zk_process() {
  local name="$1"
  shift
  # Emptied first: a restart must not be taken for started by the last one's line.
  : > "$TMP/$name.out"
  "$BIN/fake-mesos" --zk "$ZK" --zk-session-timeout 2s --allocation-interval 100ms \
    --status-update-retry 1s "$@" > "$TMP/$name.out" 2>> "$TMP/$name.log" &
  PID=$!
  background_pids+=("$PID")
  wait_for "fake-mesos listening on 127.0.0.1:" "$TMP/$name.out" 20
  ADDR="127.0.0.1:$(sed -n 's/^fake-mesos listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/$name.out")"
}

# leader_seen_by ADDR: the leader that master names (its /master/redirect), or nothing.
leader_seen_by() {
  curl -s -o /dev/null -w '%{redirect_url}' "http://$1/master/redirect" | sed 's|^http://||; s|/$||'
}

# wait_leader MASTER LEADER SECONDS: waits until the master at MASTER names LEADER.
wait_leader() {
  local deadline=$((SECONDS + $3))
  until [ "$(leader_seen_by "$1")" = "$2" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$1 does not see $2 lead (it sees '$(leader_seen_by "$1")')"
    sleep 0.05
  done
}

# fake_post PATH: scripts the fake (POST /fake/...).
fake_post() {
  curl -sf -X POST "$FAKE$1" > /dev/null || fail "POST $1 failed"
}

# run_on_mesos CASE JOB [tailor run flags...]: runs JOB on the fake at
# FAKE_ADDR (or MESOS_MASTER, e.g. $ZK, when set) in the background; sets
# JOB_PID. Output in $TMP/out-CASE, report $TMP/report-CASE.json, console
# $TMP/run-CASE.log, logs in $TMP/work-CASE.
run_on_mesos() {
  local case="$1" job="$2"
  shift 2
  "$BIN/tailor" run "$job" --mesos-master "${MESOS_MASTER:-$FAKE_ADDR}" \
    --taskmanager-executor "$BIN/tailor-taskmanager" --mesos-refuse 1s \
    --output "$TMP/out-$case" --report "$TMP/report-$case.json" --work-dir "$TMP/work-$case" \
    "$@" > "$TMP/run-$case.log" 2>&1 &
  JOB_PID=$!
  background_pids+=("$JOB_PID")
}

# finish_on_mesos CASE: waits for the job; checks it finished with the
# expected counts, and that the fake saw every TM task end and the framework torn down.
finish_on_mesos() {
  local case="$1"
  wait "$JOB_PID" || { cat "$TMP/run-$case.log"; tail -30 "$TMP/work-$case/jobmanager.log"; fail "$case: job failed"; }
  sort "$TMP"/out-$case/part-* | cmp -s - "$TMP/want" || fail "$case: output differs"
  curl -s "$FAKE/fake/state" > "$TMP/state-$case.json"
  expect_json "$TMP/state-$case.json" 'all(.frameworks[]; .torn_down)' "$case: framework torn down"
  expect_json "$TMP/state-$case.json" 'all(.tasks[]; .completed)' "$case: every TaskManager task ended"
}

# start_dispatcher NAME [tailor-dispatcher flags...]: starts a Dispatcher with
# its state in $TMP/NAME-state on a free port (or the --port given); sets
# DISPATCHER (host:port), DISPATCHER_PID and exports TAILOR_DISPATCHER. Its
# JobManagers' local cluster is $LOCAL_RESOURCES (default cpus=2,mem=4096).
start_dispatcher() {
  local name="$1"
  shift
  local port_flag=(--port 0)
  for arg in "$@"; do
    if [ "$arg" = "--port" ]; then port_flag=(); fi
  done
  : > "$TMP/$name.out"
  "$BIN/tailor-dispatcher" "${port_flag[@]}" --bind 127.0.0.1 --state-store "local:$TMP/$name-state" \
    --jobmanager-arg "--local-resources ${LOCAL_RESOURCES:-cpus=2,mem=4096} --taskmanager-idle-timeout 1s" "$@" \
    >> "$TMP/$name.out" 2>> "$TMP/$name.log" &
  DISPATCHER_PID=$!
  background_pids+=("$DISPATCHER_PID")
  wait_listening "$name"
  DISPATCHER="$LISTENING"
  # With TAILOR_TLS_CA set (tests/e2e/tls.sh) the Dispatcher serves https.
  local scheme=http curl_tls=()
  if [ -n "${TAILOR_TLS_CA:-}" ]; then
    scheme=https
    curl_tls=(--cacert "$TAILOR_TLS_CA")
  fi
  export TAILOR_DISPATCHER="$scheme://$DISPATCHER"
  local deadline=$((SECONDS + 10))
  until curl -sf "${curl_tls[@]}" "$TAILOR_DISPATCHER/ready" > /dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "Dispatcher $name not ready"
    sleep 0.05
  done
}

# start_ha_dispatcher NAME [tailor-dispatcher flags...]: a Dispatcher on the
# shared ZooKeeper store $STORE (session timeout 4 s), its work folder in
# $TMP/NAME-work, on a free port; sets HA_PID and HA_ADDR (host:port).
start_ha_dispatcher() {
  local name="$1"
  shift
  : > "$TMP/$name.out"
  "$BIN/tailor-dispatcher" --port 0 --bind 127.0.0.1 --state-store "$STORE" \
    --work-dir "$TMP/$name-work" --zk-session-timeout 4s \
    --jobmanager-arg "--local-resources cpus=2,mem=4096 --taskmanager-idle-timeout 1s" "$@" \
    >> "$TMP/$name.out" 2>> "$TMP/$name.log" &
  HA_PID=$!
  background_pids+=("$HA_PID")
  wait_listening "$name"
  HA_ADDR="$LISTENING"
}

# expect_launched_once WHAT LIST: LIST (TaskManager ids, one a line, as
# masters logged their launches) is not empty and names no id twice.
expect_launched_once() {
  [ -n "$2" ] || fail "$1: no TaskManager launched"
  local twice
  twice="$(echo "$2" | sort | uniq -d)"
  [ -z "$twice" ] || fail "$1: TaskManagers launched twice: $twice"
}

# wait_listening NAME: waits until the Dispatcher writing $TMP/NAME.out
# listens; sets LISTENING to its 127.0.0.1:port.
wait_listening() {
  wait_for "tailor-dispatcher listening on" "$TMP/$1.out" 10
  LISTENING="127.0.0.1:$(sed -n 's/^tailor-dispatcher listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$TMP/$1.out" | tail -1)"
}

# submit_slow_job NAME: submits a job of two tasks that sleep a minute over
# $TMP/numbers.txt (which must exist), waits until both run; sets SLOW_ID.
submit_slow_job() {
  cat > "$TMP/$1.yaml" <<YAML
name: $1
stages:
  - name: wait
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'echo "task \$TAILOR_TASK_INDEX waits" >&2; sleep 60; cat'
YAML
  "$BIN/tailor" submit "$TMP/$1.yaml" > "$TMP/$1.log"
  SLOW_ID="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/$1.log")"
  local deadline=$((SECONDS + 30))
  until [ "$(job_field "$SLOW_ID" '[.stages[].running] | add')" = 2 ]; do
    [ "$SECONDS" -lt "$deadline" ] || { "$BIN/tailor" status "$SLOW_ID"; fail "slow job's tasks never ran"; }
    sleep 0.1
  done
}

# job_field ID JQ: a field of `tailor status ID -o json`.
job_field() {
  "$BIN/tailor" status "$1" -o json | jq -r "$2"
}

# wait_job_state ID STATE SECONDS
wait_job_state() {
  local id="$1" state="$2" seconds="$3"
  local deadline=$((SECONDS + seconds))
  until [ "$(job_field "$id" .state)" = "$state" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { "$BIN/tailor" status "$id" >&2; fail "job $id not $state after ${seconds}s"; }
    sleep 0.1
  done
}

# The version in project() of the top-level CMakeLists.txt, e.g. 0.1.0.
project_version() {
  sed -n 's/^project(tailor VERSION \([0-9][0-9.]*\) .*/\1/p' "$ROOT/CMakeLists.txt"
}

# packaged_app_credentials: the packaged apps authenticate by default
# (docs/security.md): an admin user "e2e" with a fresh password. Sets
# AUTH_CREDENTIALS_ENV (pass it to `tailor marathon deploy --env`), CURL_AUTH
# (curl's -u argument) and exports TAILOR_USER and TAILOR_PASSWORD_FILE for
# the CLI.
packaged_app_credentials() {
  local password="e2e-$RANDOM-$RANDOM-$RANDOM"
  printf '%s\n' "$password" > "$TMP/e2e-password"
  chmod 600 "$TMP/e2e-password"
  local verifier
  verifier="$("$BIN/tailor" auth hash-password --iterations 1000 < "$TMP/e2e-password")"
  AUTH_CREDENTIALS_ENV="AUTH_CREDENTIALS=user e2e admin $verifier"
  CURL_AUTH="e2e:$password"
  export TAILOR_USER=e2e TAILOR_PASSWORD_FILE="$TMP/e2e-password"
}
