# The Dispatcher installed on Marathon from the release tarball, as an
# operator does it: `tailor marathon deploy` puts the packaged app definition
# on the fake Marathon, which fetches the tarball into a fresh sandbox and runs
# the Dispatcher with the environment Marathon gives a task -> the Dispatcher
# becomes healthy and ready and registers its framework under the app's
# DCOS_PACKAGE_FRAMEWORK_NAME on the fake Mesos -> `tailor submit --wait` runs
# the wordcount with TaskManagers of two sizes and the right output -> the
# Dispatcher is SIGKILLed, Marathon starts it again after its back-off, the
# job's record is still there (its state is on the app's persistent volume)
# -> `tailor marathon remove` deletes the app (the Dispatcher stops on
# SIGTERM within the grace period) and tears its framework down.
# usage: marathon.sh BIN_DIR RELEASE_BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
release_build="${2:?usage: marathon.sh BIN_DIR RELEASE_BUILD_DIR}"

# The release tarball, packed from the release build (scripts/release builds
# only what changed).
"$ROOT/scripts/release" --build-dir "$release_build" --out "$TMP/artifacts" > "$TMP/release.log" 2>&1 ||
  { tail -20 "$TMP/release.log"; fail "scripts/release failed"; }
tarball="$(ls "$TMP"/artifacts/tailor-*-linux-*.tar.gz)"

start_fake fake
start_fake_marathon
unset TAILOR_DISPATCHER
packaged_app_credentials

# --- deploy -------------------------------------------------------------
"$BIN/tailor" marathon deploy --tarball-url "file://$tarball" --mesos-master "$FAKE_ADDR" \
  --name tailor-e2e --app-id /e2e/tailor --timeout 120s \
  --env TAILOR_MESOS_REFUSE=1s --env TAILOR_JOBMANAGER_RESOURCES=cpus=0.2,mem=256 \
  --env "TAILOR_JOBMANAGER_ARG=--taskmanager-idle-timeout 2s" --env "$AUTH_CREDENTIALS_ENV" \
  --env APPLICATION_WEB_PROXY_BASE=/service/tailor-e2e > "$TMP/deploy.log" 2>&1 ||
  { cat "$TMP/deploy.log"; tail -30 "$TMP/marathon/fake-marathon.log"; fail "tailor marathon deploy failed"; }
address="$(grep -o 'http://[0-9.]*:[0-9]*' "$TMP/deploy.log" | tail -1)"
[ -n "$address" ] || { cat "$TMP/deploy.log"; fail "deploy printed no Dispatcher address"; }
export TAILOR_DISPATCHER="$address"
curl -sf "$address/health" > /dev/null || fail "the Dispatcher is not healthy"
curl -sf "$address/ready" > /dev/null || fail "the Dispatcher is not ready"
curl -s "$MARATHON/v2/apps/e2e/tailor" > "$TMP/app.json"
expect_json "$TMP/app.json" '.app.tasksRunning == 1 and .app.tasksHealthy == 1 and (.app.deployments | length) == 0' \
  "one running, healthy task and no deployment left"
sandbox="$(ls -d "$TMP"/marathon/sandboxes/*/* | head -1)"
[ -x "$(ls -d "$sandbox"/tailor-*/bin/tailor-dispatcher)" ] || fail "the tarball was not unpacked into the sandbox"
"$BIN/tailor" marathon status --app-id /e2e/tailor > "$TMP/status.log" 2>&1 || { cat "$TMP/status.log"; fail "tailor marathon status failed"; }
grep -q "$address" "$TMP/status.log" || { cat "$TMP/status.log"; fail "status does not show the Dispatcher's address"; }
pass "deploy: fetched from the tarball, healthy, ready, one task"

curl -s "$FAKE/fake/state" > "$TMP/state.json"
expect_json "$TMP/state.json" '[.frameworks[] | select(.name == "tailor-e2e")] | length == 1' \
  "the Dispatcher's framework is named after the app's DCOS_PACKAGE_FRAMEWORK_NAME"
# Links behind a proxy start with APPLICATION_WEB_PROXY_BASE.
echo '{"spec": "name: tiny\nstages:\n  - name: s\n    parallelism: 1\n    resources: {cpus: 0.1, mem: 64MiB}\n    command: \"true\"\n    input: {files: [\"x\"]}\n", "spec_name": "tiny.yaml", "files": [{"path": "x", "content": "YQo="}]}' \
  > "$TMP/tiny.json"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$address/v1/jobs")" = 401 ] ||
  fail "the packaged app answers /v1/jobs without credentials"
curl -s -u "$CURL_AUTH" -D "$TMP/headers" -o /dev/null -H 'Content-Type: application/json' \
  --data @"$TMP/tiny.json" "$address/v1/jobs"
grep -qi '^Location: /service/tailor-e2e/v1/jobs/' "$TMP/headers" ||
  { cat "$TMP/headers"; fail "a submission's Location does not start with the proxy base path"; }
pass "framework name from the app's label; links under APPLICATION_WEB_PROXY_BASE; 401 without credentials"

# --- the wordcount through it -------------------------------------------
submit_example_wordcount "through the Marathon-run Dispatcher"
id="$SUBMITTED_ID"
output="$SUBMITTED_OUTPUT"
# The JobManager and its TaskManagers ran from the release tarball they fetched.
jm_sandbox="${output%/output}"
ls -d "$jm_sandbox"/tailor-*/bin/tailor-jobmanager > /dev/null 2>&1 ||
  fail "the JobManager's sandbox has no unpacked release tarball"
[ -n "$(find "$TMP/fake-agents" -path '*/executors/tm-*' -name tailor-taskmanager -path '*/tailor-*/bin/*' | head -1)" ] ||
  fail "no TaskManager ran from the release tarball"
pass "wordcount through the Dispatcher on Marathon: FINISHED, two TaskManager sizes, right output, run from the tarball"

# --- SIGKILL: Marathon starts it again, the record survives --------------
old_task="$(jq -r '.app.tasks[0].id' <(curl -s "$MARATHON/v2/apps/e2e/tailor?embed=app.tasks"))"
# The task's command execs the Dispatcher: it is the fake Marathon's child.
dispatcher_pid="$(pgrep -P "$MARATHON_PID" -f 'bin/tailor-dispatcher' | head -1 || true)"
[ -n "$dispatcher_pid" ] || fail "cannot find the Dispatcher's process"
kill -KILL "$dispatcher_pid"
deadline=$((SECONDS + 60))
until curl -s "$MARATHON/v2/apps/e2e/tailor?embed=app.tasks" |
  jq -e --arg old "$old_task" '.app.tasksHealthy == 1 and .app.tasks[0].id != $old' > /dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$TMP/marathon/fake-marathon.log"; fail "Marathon did not start the Dispatcher again"; }
  sleep 0.2
done
new_address="$("$BIN/tailor" marathon status --app-id /e2e/tailor 2>&1 | grep -o 'http://[0-9.]*:[0-9]*' | tail -1)"
[ -n "$new_address" ] || fail "status shows no address after the restart"
export TAILOR_DISPATCHER="$new_address"
deadline=$((SECONDS + 30))
until curl -sf "$new_address/ready" > /dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the restarted Dispatcher is not ready"
  sleep 0.1
done
[ "$(job_field "$id" .state)" = "FINISHED" ] || fail "the job's record did not survive the restart"
pass "SIGKILL: Marathon started the Dispatcher again after its back-off; the job's record is there"

# --- remove --------------------------------------------------------------
"$BIN/tailor" marathon remove --app-id /e2e/tailor > "$TMP/remove.log" 2>&1 ||
  { cat "$TMP/remove.log"; fail "tailor marathon remove failed"; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "$MARATHON/v2/apps/e2e/tailor")" = 404 ] || fail "the app is still there"
curl -s "$FAKE/fake/state" > "$TMP/state-after.json"
expect_json "$TMP/state-after.json" '[.frameworks[] | select(.name == "tailor-e2e")][0].torn_down' \
  "the Dispatcher's framework torn down"
# Marathon's kill: SIGTERM, then SIGKILL once taskKillGracePeriodSeconds passed.
log="$TMP/marathon/fake-marathon.log"
grep -q "killing task .*SIGKILL in" "$log" || fail "the Dispatcher's task was not killed"
grep -q "TASK_KILLED" "$log" || { tail -5 "$log"; fail "the Dispatcher's task did not end as killed"; }
if grep -q "still alive after its grace period" "$log"; then
  fail "the Dispatcher outlived its grace period"
fi
stop_seconds="$(awk '/killing task .*app deleted/ { split($2, t, /[:,]/); start = t[1] * 3600 + t[2] * 60 + t[3] + t[4] / 1000 }
  /TASK_KILLED/ && start { split($2, t, /[:,]/); printf "%.2f", t[1] * 3600 + t[2] * 60 + t[3] + t[4] / 1000 - start; exit }' "$log")"
echo "the Dispatcher stopped ${stop_seconds} s after SIGTERM (grace period 30 s)"
pass "remove: app deleted, Dispatcher stopped on SIGTERM, framework torn down"
