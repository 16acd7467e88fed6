# A real Prometheus scrapes Tailor: a Dispatcher (mesos launcher) on the fake
# Mesos, its targets found through GET /v1/metrics/targets (http_sd_configs,
# refreshed every second, scraped every second). A job of a few seconds with
# TaskManagers of two sizes runs; while it runs, every endpoint's /metrics
# (Dispatcher, JobManager, TaskManagers) passes `promtool check metrics`.
# After it, Prometheus' tasks finished and TaskManagers launched by size
# equal the job's report, and series of the JobManager and of TaskManagers
# were scraped. Then a session: its JobManager and TaskManagers are targets
# (label session) until it stops. Skips (77) only when prometheus is not
# installed.
source "$(dirname "$0")/lib.sh" "$1"

PROMETHEUS=/usr/bin/prometheus
PROMTOOL=/usr/bin/promtool
if [ ! -x "$PROMETHEUS" ] || [ ! -x "$PROMTOOL" ]; then
  echo "SKIP: $PROMETHEUS or $PROMTOOL is not installed (Debian package prometheus; scripts/install-deps installs it)"
  exit 77
fi

start_fake fake
start_dispatcher d --launcher mesos --mesos-master "$FAKE_ADDR" --mesos-refuse 1s \
  --jobmanager-resources cpus=0.2,mem=256

# The Dispatcher's own endpoints, before any job.
curl -sf "$TAILOR_DISPATCHER/metrics" > "$TMP/dispatcher.prom" || fail "GET /metrics of the Dispatcher"
"$PROMTOOL" check metrics < "$TMP/dispatcher.prom" || fail "promtool rejects the Dispatcher's /metrics"
content_type="$(curl -s -o /dev/null -w '%{content_type}' "$TAILOR_DISPATCHER/metrics")"
case "$content_type" in "text/plain; version=0.0.4"*) ;; *) fail "/metrics Content-Type is '$content_type'" ;; esac
expect_json <(curl -sf "$TAILOR_DISPATCHER/v1/metrics/targets") \
  "type == \"array\" and length == 1 and .[0].targets == [\"$DISPATCHER\"] and .[0].labels.role == \"dispatcher\"" \
  "targets list the Dispatcher alone before any job"

# Prometheus on a free port, its data in this test's folder.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
cat > "$TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tailor
    http_sd_configs:
      - url: http://$DISPATCHER/v1/metrics/targets
        refresh_interval: 1s
YAML
"$PROMTOOL" check config "$TMP/prometheus.yml" > /dev/null || fail "promtool rejects the test's prometheus.yml"
for try in 1 2 3; do
  PROM_ADDR="127.0.0.1:$(free_port)"
  "$PROMETHEUS" --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prometheus-data" \
    --web.listen-address="$PROM_ADDR" > "$TMP/prometheus.log" 2>&1 &
  prom_pid=$!
  background_pids+=("$prom_pid")
  deadline=$((SECONDS + 20))
  until curl -sf "http://$PROM_ADDR/-/ready" > /dev/null 2>&1; do
    kill -0 "$prom_pid" 2>/dev/null || break
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$TMP/prometheus.log"; fail "Prometheus not ready"; }
    sleep 0.2
  done
  kill -0 "$prom_pid" 2>/dev/null && break
  [ "$try" -lt 3 ] || { tail -20 "$TMP/prometheus.log"; fail "Prometheus did not start"; }
done

# query PROMQL: the result vector of an instant query, as JSON.
query() {
  curl -sf "http://$PROM_ADDR/api/v1/query" --data-urlencode "query=$1" | jq -c '.data.result'
}

# A job of a few seconds: three small readers, then one larger sorter.
seq 1 3000 > "$TMP/numbers.txt"
cat > "$TMP/metered.yaml" <<YAML
name: metered
stages:
  - name: read
    parallelism: 3
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'sleep 3; cat'
  - name: sort
    parallelism: 1
    resources: {cpus: 0.5, mem: 300}
    inputs: [{stage: read}]
    command: 'sleep 3; sort -n'
YAML
"$BIN/tailor" submit "$TMP/metered.yaml" > "$TMP/metered.log" || fail "submit failed"
id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/metered.log")"
[ -n "$id" ] || fail "no job id printed"

# While it runs: the JobManager and a TaskManager are targets, and every
# endpoint's text passes promtool.
targets_url="$TAILOR_DISPATCHER/v1/metrics/targets"
wait_json "$targets_url" \
  "any(.[]; .labels.role == \"jobmanager\" and .labels.job_id == \"$id\") and any(.[]; .labels.role == \"taskmanager\" and .labels.job_id == \"$id\" and (.labels.taskmanager_id | startswith(\"tm-\")))" \
  60 "the job's JobManager and a TaskManager in the targets"
curl -sf "$targets_url" > "$TMP/targets.json"
for target in $(jq -r '.[].targets[0]' "$TMP/targets.json"); do
  curl -sf "http://$target/metrics" > "$TMP/endpoint.prom" || fail "GET http://$target/metrics"
  "$PROMTOOL" check metrics < "$TMP/endpoint.prom" ||
    { head -40 "$TMP/endpoint.prom"; fail "promtool rejects http://$target/metrics"; }
done
checked="$(jq -r '[.[].labels.role] | unique | join(",")' "$TMP/targets.json")"
[ "$checked" = "dispatcher,jobmanager,taskmanager" ] || fail "checked only $checked"
pass "every endpoint's /metrics passes promtool check metrics ($(jq length "$TMP/targets.json") targets: $checked)"

wait_job_state "$id" FINISHED 90
"$BIN/tailor" report "$id" > "$TMP/report.json"
want_tasks="$(jq '[.stages[].parallelism] | add' "$TMP/report.json")"
# TaskManagers launched by size, as the report says: "cpus/mem count" lines.
jq -r '[.taskmanagers[] | select(.launched_at > 0) | "\(.resources.cpus)/\(.resources.mem)"] | group_by(.) | map("\(.[0]) \(length)") | .[]' \
  "$TMP/report.json" | sort > "$TMP/want-sizes"
[ "$(wc -l < "$TMP/want-sizes")" -ge 2 ] || { cat "$TMP/want-sizes"; fail "the job did not launch TaskManagers of two sizes"; }

# Prometheus' view (scraped from the Dispatcher, which counts each ended
# job's report once) equals the report.
deadline=$((SECONDS + 20))
until [ "$(query 'tailor_dispatcher_tasks_finished_total{role="dispatcher"}' | jq -r '.[0].value[1] // ""')" = "$want_tasks" ]; do
  [ "$SECONDS" -lt "$deadline" ] || { query 'tailor_dispatcher_tasks_finished_total'; fail "Prometheus' tasks finished is not $want_tasks"; }
  sleep 0.5
done
query 'tailor_dispatcher_taskmanagers_launched_total{role="dispatcher"}' |
  jq -r '.[] | "\(.metric.cpus)/\(.metric.mem_mib) \(.value[1])"' | sort > "$TMP/got-sizes"
cmp -s "$TMP/got-sizes" "$TMP/want-sizes" ||
  { diff "$TMP/got-sizes" "$TMP/want-sizes"; fail "TaskManagers launched by size differ from the report"; }
pass "Prometheus: $want_tasks tasks finished and TaskManagers by size ($(tr '\n' ' ' < "$TMP/want-sizes")) as in the report"

# Series of the JobManager and of TaskManagers were scraped while they ran.
[ "$(query "max_over_time(up{role=\"jobmanager\",job_id=\"$id\"}[10m])" | jq -r '.[0].value[1] // ""')" = 1 ] ||
  fail "the JobManager was never scraped"
jm_tms="$(query "max_over_time(tailor_taskmanagers_launched_total{role=\"jobmanager\",job_id=\"$id\"}[10m])" | jq 'length')"
[ "$jm_tms" -ge 1 ] || fail "no tailor_taskmanagers_launched_total from the JobManager"
jm_tasks="$(query "max(max_over_time(tailor_tasks_finished_total{job_id=\"$id\",role=\"jobmanager\"}[10m]))" | jq -r '.[0].value[1] // "0"')"
[ "$jm_tasks" -ge 1 ] && [ "$jm_tasks" -le "$want_tasks" ] || fail "the JobManager's tasks finished: $jm_tasks"
[ "$(query "max_over_time(up{role=\"taskmanager\",job_id=\"$id\"}[10m])" | jq 'length')" -ge 1 ] ||
  fail "no TaskManager was scraped"
tm_rpcs="$(query "max_over_time(tailor_rpc_server_duration_seconds_count{role=\"taskmanager\",job_id=\"$id\",service=\"TaskManager\"}[10m])" | jq 'length')"
[ "$tm_rpcs" -ge 1 ] || fail "no TaskManager-side RPC series scraped"
pass "Prometheus scraped the JobManager ($jm_tasks tasks finished seen there) and TaskManagers (their RPC series)"

# Once ended, the job's JobManager and TaskManagers leave the targets.
wait_json "$targets_url" 'length == 1 and .[0].labels.role == "dispatcher"' 30 \
  "only the Dispatcher in the targets after the job"
pass "ended jobs leave the targets"

# A session: its JobManager and its TaskManagers are targets labelled with
# it, scraped, and gone once it stops.
"$BIN/tailor" session start s1 --idle-timeout 60s > "$TMP/session.out" ||
  fail "session start: $(cat "$TMP/session.out")"
"$BIN/tailor" submit --session s1 "$TMP/metered.yaml" > "$TMP/session-job.log" || fail "submit --session failed"
session_job="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/session-job.log")"
wait_json "$targets_url" \
  'any(.[]; .labels.role == "jobmanager" and .labels.session == "s1") and any(.[]; .labels.role == "taskmanager" and .labels.session == "s1")' \
  60 "the session's JobManager and a TaskManager in the targets"
curl -sf "$targets_url" > "$TMP/session-targets.json"
for target in $(jq -r '.[] | select(.labels.session == "s1") | .targets[0]' "$TMP/session-targets.json"); do
  curl -sf "http://$target/metrics" > "$TMP/endpoint.prom" || fail "GET http://$target/metrics (session)"
  "$PROMTOOL" check metrics < "$TMP/endpoint.prom" || fail "promtool rejects http://$target/metrics (session)"
done
wait_job_state "$session_job" FINISHED 90
deadline=$((SECONDS + 20))
until [ "$(query 'max_over_time(up{role="taskmanager",session="s1"}[10m])' | jq 'length')" -ge 1 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no TaskManager of the session was scraped"
  sleep 0.5
done
"$BIN/tailor" session stop s1 > /dev/null || fail "session stop failed"
wait_json "$TAILOR_DISPATCHER/v1/sessions/s1" '.state == "SESSION_STOPPED"' 60 "the session stopped"
wait_json "$targets_url" 'length == 1 and .[0].labels.role == "dispatcher"' 30 \
  "only the Dispatcher in the targets after the session"
pass "a session's JobManager and TaskManagers are targets (label session), pass promtool, are scraped, and leave with it"
