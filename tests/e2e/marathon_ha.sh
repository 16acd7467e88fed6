# The highly available Dispatcher on Marathon: `tailor marathon deploy` puts
# packaging/marathon/tailor-dispatcher-ha.json on the fake Marathon, with its
# job records and the Mesos master both found through a private ZooKeeper
# (the zk:// forms the file uses on DC/OS) -> two Dispatchers run and are
# healthy, the deployment ends without either waiting to be ready, one leads
# (/ready 200, the only framework on the fake Mesos, its webui_url) and the
# other stands by (/ready 503, /v1 answered with 307 to the leader) -> a job
# submitted through the standby runs and finishes -> the leader is SIGKILLed:
# the standby leads within a few seconds under the same framework id and the
# framework's webui_url follows it, Marathon starts the lost instance again
# and it stands by, the job's record is still there -> `tailor marathon
# remove` deletes the app and tears the framework down.
#
# The tarball the apps fetch is packed here from BIN_DIR in the release
# tarball's layout (tailor-VERSION/bin/...): what is tested is the app
# definition, not the release (e2e/marathon.sh installs the real tarball).
# usage: marathon_ha.sh BIN_DIR
source "$(dirname "$0")/lib.sh" "$1"

start_zookeeper
ZK="127.0.0.1:$ZK_PORT"

version="$(project_version)"
mkdir -p "$TMP/release/tailor-$version/bin"
cp "$BIN/tailor-dispatcher" "$BIN/tailor-jobmanager" "$BIN/tailor-taskmanager" "$TMP/release/tailor-$version/bin/"
tarball="$TMP/tailor-$version-linux-$(uname -m).tar.gz"
tar -czf "$tarball" -C "$TMP/release" "tailor-$version"

# The fake Mesos master contends in ZooKeeper; its agents' ports are a range
# the other end-to-end tests leave alone.
"$BIN/fake-mesos" --port 0 --allocation-interval 100ms --work-dir "$TMP/fake-agents" \
  --zk "zk://$ZK/mesos" --zk-session-timeout 2s \
  --agent cpus=2,mem=4096,disk=20000,ports=32000-32099 --agent cpus=4,mem=8192,disk=20000,ports=32100-32199 \
  > "$TMP/fake.out" 2> "$TMP/fake.log" &
background_pids+=($!)
wait_for "fake-mesos listening on 127.0.0.1:" "$TMP/fake.out" 20
FAKE_ADDR="127.0.0.1:$(sed -n 's/^fake-mesos listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/fake.out")"
FAKE="http://$FAKE_ADDR"
start_fake_marathon
unset TAILOR_DISPATCHER

# --- deploy: two Dispatchers, one leads ------------------------------------
packaged_app_credentials
"$BIN/tailor" marathon deploy --app-file "$ROOT/packaging/marathon/tailor-dispatcher-ha.json" \
  --tarball-url "file://$tarball" --mesos-master "zk://$ZK/mesos" \
  --name tailor-e2e --app-id /e2e/tailor --timeout 120s \
  --env "TAILOR_STATE_STORE=zk://$ZK/tailor/tailor-e2e" --env TAILOR_ZK_SESSION_TIMEOUT=2s \
  --env TAILOR_MESOS_REFUSE=1s --env TAILOR_JOBMANAGER_RESOURCES=cpus=0.2,mem=256 \
  --env "TAILOR_JOBMANAGER_ARG=--taskmanager-idle-timeout 2s" --env "$AUTH_CREDENTIALS_ENV" \
  > "$TMP/deploy.log" 2>&1 ||
  { cat "$TMP/deploy.log"; tail -30 "$TMP/marathon/fake-marathon.log"; fail "tailor marathon deploy failed"; }
curl -s "$MARATHON/v2/apps/e2e/tailor" > "$TMP/app.json"
expect_json "$TMP/app.json" '.app.instances == 2 and .app.tasksRunning == 2 and .app.tasksHealthy == 2' \
  "two running, healthy Dispatchers"
expect_json "$TMP/app.json" '(.app.deployments | length) == 0' "the deployment ended (no readiness to wait for)"

# tasks: "TASK_ID URL" of each running task, one a line.
tasks() {
  curl -s "$MARATHON/v2/apps/e2e/tailor" |
    jq -r '.app.tasks[] | select(.state == "TASK_RUNNING") | "\(.id) http://\(.host):\(.ports[0])"'
}

# status URL PATH: the HTTP status of GET URL/PATH.
status() {
  curl -s -o /dev/null -w '%{http_code}' "$1$2"
}

# find_roles: sets LEADER, LEADER_TASK, STANDBY, STANDBY_TASK once exactly one
# task is ready and the other answers 503 (waits up to 30 s).
find_roles() {
  local deadline=$((SECONDS + 30)) id url ready
  while true; do
    LEADER="" STANDBY="" ready=0
    while read -r id url; do
      case "$(status "$url" /ready)" in
        200) LEADER="$url" LEADER_TASK="$id"; ready=$((ready + 1)) ;;
        503) STANDBY="$url" STANDBY_TASK="$id" ;;
      esac
    done < <(tasks)
    if [ "$ready" = 1 ] && [ -n "$STANDBY" ]; then return 0; fi
    [ "$SECONDS" -lt "$deadline" ] || { tasks; fail "not one leader and one standby ($ready ready)"; }
    sleep 0.2
  done
}

# sandbox TASK_ID: the task's sandbox on the fake Marathon.
sandbox() {
  ls -d "$TMP"/marathon/sandboxes/*/"$1"
}

# the_framework: sets FRAMEWORK_ID, WEBUI and ACTIVE from the one framework
# named tailor-e2e on the fake Mesos; fails when there is not exactly one.
the_framework() {
  curl -s "$FAKE/master/frameworks" > "$TMP/frameworks.json"
  expect_json "$TMP/frameworks.json" '[.frameworks[] | select(.name == "tailor-e2e")] | length == 1' \
    "exactly one framework named after the app's DCOS_PACKAGE_FRAMEWORK_NAME"
  read -r FRAMEWORK_ID WEBUI ACTIVE < <(jq -r \
    '.frameworks[] | select(.name == "tailor-e2e") | "\(.id) \(.webui_url) \(.active)"' "$TMP/frameworks.json")
}

find_roles
[ "$(status "$STANDBY" /health)" = 200 ] || fail "the standby is not healthy"
[ "$(status "$LEADER" /health)" = 200 ] || fail "the leader is not healthy"
# The standby checks credentials before it redirects.
[ "$(status "$STANDBY" /v1/jobs)" = 401 ] || fail "the standby redirects a request without credentials"
location="$(curl -s -u "$CURL_AUTH" -o /dev/null -w '%{redirect_url}' "$STANDBY/v1/jobs")"
[ "$(curl -s -u "$CURL_AUTH" -o /dev/null -w '%{http_code}' "$STANDBY/v1/jobs")" = 307 ] &&
  [ "$location" = "$LEADER/v1/jobs" ] ||
  fail "the standby does not send /v1/jobs to the leader (Location '$location')"
grep -q "leading: this Dispatcher ($LEADER)" "$(sandbox "$LEADER_TASK")/stderr" ||
  fail "the leader's log does not say it leads"
grep -q "standing by; the leading Dispatcher is $LEADER" "$(sandbox "$STANDBY_TASK")/stderr" ||
  fail "the standby's log does not name the leader"
the_framework
framework_id="$FRAMEWORK_ID"
[ "$WEBUI" = "$LEADER/" ] && [ "$ACTIVE" = true ] ||
  fail "the framework's webui_url is '$WEBUI' (active $ACTIVE), not the leader's $LEADER/"
pass "deploy: two healthy Dispatchers, no deployment left; $LEADER leads, $STANDBY stands by (307); one framework, webui_url at the leader"

# --- a job submitted through the standby -----------------------------------
seq 1 500 > "$TMP/numbers.txt"
cat > "$TMP/job.yaml" <<YAML
name: through-the-standby
stages:
  - name: copy
    parallelism: 1
    resources: {cpus: 0.1, mem: 64MiB}
    input: {files: ["numbers.txt"]}
    command: cat
YAML
export TAILOR_DISPATCHER="$STANDBY"
"$BIN/tailor" submit "$TMP/job.yaml" --wait > "$TMP/submit.log" 2>&1 ||
  { cat "$TMP/submit.log"; tail -20 "$(sandbox "$LEADER_TASK")/stderr"; fail "submit --wait through the standby failed"; }
id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit.log")"
[ -n "$id" ] || { cat "$TMP/submit.log"; fail "no job id printed"; }
[ "$(job_field "$id" .state)" = FINISHED ] || fail "job $id did not finish"
cmp -s <(cat "$(job_field "$id" .output)"/part-*) "$TMP/numbers.txt" || fail "job $id: output differs"
pass "a job submitted through the standby ran on the leader's framework and FINISHED with the right output"

# --- SIGKILL of the leader: the standby takes over --------------------------
old_leader_task="$LEADER_TASK" old_standby="$STANDBY" old_standby_task="$STANDBY_TASK"
leader_pid=""
for pid in $(pgrep -P "$MARATHON_PID" -f 'bin/tailor-dispatcher'); do
  if [ "$(readlink "/proc/$pid/cwd")" = "$(sandbox "$old_leader_task")" ]; then leader_pid="$pid"; fi
done
[ -n "$leader_pid" ] || fail "cannot find the leading Dispatcher's process"
kill -KILL "$leader_pid"
killed_at=$SECONDS
deadline=$((SECONDS + 30))
until [ "$(status "$old_standby" /ready)" = 200 ]; do
  [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$(sandbox "$old_standby_task")/stderr"; fail "the standby did not take over"; }
  sleep 0.1
done
takeover=$((SECONDS - killed_at))
grep -q "leading: this Dispatcher ($old_standby)" "$(sandbox "$old_standby_task")/stderr" ||
  fail "the new leader's log does not say it leads"
deadline=$((SECONDS + 30))
until the_framework && [ "$WEBUI" = "$old_standby/" ] && [ "$ACTIVE" = true ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the framework's webui_url is '$WEBUI' (active $ACTIVE), not the new leader's"
  sleep 0.2
done
[ "$FRAMEWORK_ID" = "$framework_id" ] || fail "the new leader subscribed as $FRAMEWORK_ID, not as $framework_id"
pass "leader SIGKILLed: the standby led within ${takeover}s, under the same framework id, webui_url at it"

# Marathon starts the lost instance again; it stands by.
deadline=$((SECONDS + 60))
until curl -s "$MARATHON/v2/apps/e2e/tailor" |
  jq -e --arg old "$old_leader_task" '.app.tasksHealthy == 2 and ([.app.tasks[].id] | index($old) == null)' > /dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$TMP/marathon/fake-marathon.log"; fail "Marathon did not start the lost Dispatcher again"; }
  sleep 0.2
done
find_roles
[ "$LEADER" = "$old_standby" ] || fail "$LEADER leads, not $old_standby"
[ "$STANDBY_TASK" != "$old_leader_task" ] || fail "the standby is the killed task"
wait_for "standing by; the leading Dispatcher is $old_standby" "$(sandbox "$STANDBY_TASK")/stderr" 10
export TAILOR_DISPATCHER="$STANDBY"
[ "$(job_field "$id" .state)" = FINISHED ] || fail "the job's record did not survive the takeover"
pass "Marathon started the lost instance again: it stands by; the job's record is in ZooKeeper"

# --- remove ------------------------------------------------------------------
"$BIN/tailor" marathon remove --app-id /e2e/tailor --mesos-master "$FAKE_ADDR" > "$TMP/remove.log" 2>&1 ||
  { cat "$TMP/remove.log"; fail "tailor marathon remove failed"; }
[ "$(status "$MARATHON" /v2/apps/e2e/tailor)" = 404 ] || fail "the app is still there"
curl -s "$FAKE/fake/state" > "$TMP/state-after.json"
expect_json "$TMP/state-after.json" '[.frameworks[] | select(.name == "tailor-e2e")][0].torn_down' \
  "the Dispatchers' framework torn down"
pass "remove: app deleted, framework torn down"
