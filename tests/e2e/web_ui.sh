# The web UI in a real headless Chromium (Debian's), driven by
# tests/ui/ui_test.mjs: the jobs list, a running job's DAG and TaskManagers,
# an ended job's report, each checked against the REST API; then the same
# behind nginx under a path prefix (APPLICATION_WEB_PROXY_BASE), and as
# `tailor run --ui` serves it. The
# screenshots stay in BIN/../test-artifacts/web_ui.
source "$(dirname "$0")/lib.sh"

command -v node > /dev/null || fail "node is not installed (scripts/install-deps installs it)"
CHROMIUM="$(command -v chromium || true)"
[ -n "$CHROMIUM" ] || fail "chromium is not installed (scripts/install-deps installs it)"
export CHROMIUM
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || fail "nginx is not installed (scripts/install-deps installs it)"

# The browser driver (playwright-core, as locked in tests/ui), installed once
# beside the binaries.
DRIVER="$BIN/../ui-driver"
mkdir -p "$DRIVER"
if ! cmp -s "$ROOT/tests/ui/package-lock.json" "$DRIVER/package-lock.json" ||
   [ ! -d "$DRIVER/node_modules/playwright-core" ]; then
  cp "$ROOT/tests/ui/package.json" "$ROOT/tests/ui/package-lock.json" "$DRIVER/"
  (cd "$DRIVER" && npm ci --no-audit --no-fund --silent) || fail "npm ci of the UI test driver failed"
fi
cp "$ROOT/tests/ui/ui_test.mjs" "$DRIVER/"
SHOTS="$BIN/../test-artifacts/web_ui"
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
ui() { node "$DRIVER/ui_test.mjs" "$@"; }

mkdir -p "$TMP/data"
generate_input "$TMP/data" 2 4
# The tokenizers sleep long enough for the running job's checks to see the
# counters wait for their inputs.
write_slow_wordcount_job "$TMP/job.yaml" "$TMP/data" 8

start_dispatcher dispatcher --external-base-path /service/tailor
BASE="http://$DISPATCHER"
curl -s -o /dev/null -w '%{http_code} %{redirect_url}\n' "$BASE/" | grep -qx "302 $BASE/service/tailor/ui/" ||
  fail "GET / does not redirect to the UI under the external base path"

# One job that ended before, one that runs while the page is looked at.
"$BIN/tailor" submit --wait "$TMP/job.yaml" > "$TMP/first.log" || fail "the first job failed"
FIRST="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/first.log")"
"$BIN/tailor" submit "$TMP/job.yaml" > "$TMP/second.log"
SECOND="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/second.log")"
deadline=$((SECONDS + 30))
until [ "$(job_field "$SECOND" '[.stages[].running] | add // 0')" -gt 0 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the second job's tasks never ran"
  sleep 0.1
done

ui job "$BASE" "$SHOTS" running-job "$SECOND" running || fail "running job page"
ui list "$BASE" "$SHOTS" jobs-list || fail "jobs list"
ui job "$BASE" "$SHOTS" ended-job "$FIRST" ended || fail "ended job page"
pass "the jobs list, a running job and an ended job render with the API's numbers"

# Behind nginx, under the prefix the Dispatcher was told
# (--external-base-path, as APPLICATION_WEB_PROXY_BASE would): nginx strips it.
mkdir -p "$TMP/nginx"
NGINX_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat > "$TMP/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 64; }
http {
  access_log $TMP/nginx/access.log;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /service/tailor/ {
      proxy_pass http://$DISPATCHER/;
    }
  }
}
CONF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" -g 'daemon off;' &
background_pids+=("$!")
PROXY="http://127.0.0.1:$NGINX_PORT/service/tailor"
deadline=$((SECONDS + 10))
until curl -sf "$PROXY/health" > /dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || { cat "$TMP/nginx/error.log"; fail "nginx did not start"; }
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$PROXY/")" = "302 $PROXY/ui/" ] ||
  fail "GET / through the proxy does not redirect to the UI under the prefix"
ENTER_AT_ROOT=1 ui list "$PROXY" "$SHOTS" prefix-jobs-list || fail "jobs list behind the prefix"
ENTER_AT_ROOT=1 ui job "$PROXY" "$SHOTS" prefix-ended-job "$FIRST" ended || fail "ended job behind the prefix"
pass "the UI works behind a path prefix"

# `tailor run --ui`: the same page for the one job of this process, while it
# runs and once it ended (until SIGINT).
(cd "$TMP" && exec "$BIN/tailor" run job.yaml --ui --usage-history none --output "$TMP/run-out" \
  --local-resources cpus=2,mem=4096 > "$TMP/run-ui.log" 2>&1) &
RUN_PID=$!
background_pids+=("$RUN_PID")
deadline=$((SECONDS + 20))
until grep -q '^web UI: ' "$TMP/run-ui.log"; do
  [ "$SECONDS" -lt "$deadline" ] || { cat "$TMP/run-ui.log"; fail "tailor run --ui printed no URL"; }
  sleep 0.1
done
RUN_BASE="$(sed -n 's|^web UI: \(.*\)/ui/$|\1|p' "$TMP/run-ui.log")"
RUN_ID="$(curl -sf "$RUN_BASE/v1/jobs" | jq -r '.jobs[0].id')"
deadline=$((SECONDS + 30))
until [ "$(curl -sf "$RUN_BASE/v1/jobs/$RUN_ID" | jq '[.stages[].running] | add // 0')" -gt 0 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "tailor run --ui: the job's tasks never ran"
  sleep 0.1
done
ui job "$RUN_BASE" "$SHOTS" run-running-job "$RUN_ID" running || fail "tailor run --ui: running job page"
deadline=$((SECONDS + 60))
until grep -q '^web UI still at' "$TMP/run-ui.log"; do
  [ "$SECONDS" -lt "$deadline" ] || { cat "$TMP/run-ui.log"; fail "tailor run --ui: the job did not end"; }
  sleep 0.2
done
ui list "$RUN_BASE" "$SHOTS" run-jobs-list || fail "tailor run --ui: jobs list"
ui job "$RUN_BASE" "$SHOTS" run-ended-job "$RUN_ID" ended || fail "tailor run --ui: ended job page"
kill -INT "$RUN_PID"
wait "$RUN_PID" || fail "tailor run --ui exited $? after SIGINT (expected 0: the job finished)"
pass "tailor run --ui: the running and the ended job, and the list, render with the API's numbers"

wait_job_state "$SECOND" FINISHED 60
ui job "$BASE" "$SHOTS" second-ended-job "$SECOND" ended || fail "the second job once ended"
ls "$SHOTS"/*.png > /dev/null || fail "no screenshots in $SHOTS"
pass "screenshots in $(cd "$SHOTS" && pwd)"
