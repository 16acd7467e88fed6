# `tailor session start|list|status|stop` and `tailor submit --session`
# against a local Dispatcher: what they print, their exit codes and errors
# (bad names and flags, unknown sessions), and a session stopped ends
# (STOPPED, or FAILED when its JobManager ended by itself first).
source "$(dirname "$0")/lib.sh" "$1"

start_dispatcher d

# expect_exit CODE PATTERN CMD...: CMD exits CODE and its stderr matches PATTERN.
expect_exit() {
  local code="$1" pattern="$2"
  shift 2
  local got=0
  "$@" > "$TMP/cmd.out" 2> "$TMP/cmd.err" || got=$?
  [ "$got" -eq "$code" ] || { cat "$TMP/cmd.err" >&2; fail "$* exited $got (expected $code)"; }
  grep -q -- "$pattern" "$TMP/cmd.err" || { cat "$TMP/cmd.err" >&2; fail "$*: no '$pattern' in stderr"; }
}

expect_exit 2 "usage: tailor session" "$BIN/tailor" session
expect_exit 2 "unknown command 'frobnicate'" "$BIN/tailor" session frobnicate
expect_exit 2 "missing NAME" "$BIN/tailor" session start
expect_exit 1 "name: 'Bad_Name' is not a session name" "$BIN/tailor" session start Bad_Name
expect_exit 2 "--idle-timeout" "$BIN/tailor" session start etl --idle-timeout soon
expect_exit 1 "options.sizing" "$BIN/tailor" session start etl --sizing huge
expect_exit 1 "no session named 'nope'" "$BIN/tailor" session stop nope
expect_exit 1 "no session named 'nope'" "$BIN/tailor" session status nope
"$BIN/tailor" session help > /dev/null 2>&1 && fail "an unknown session command succeeded"
pass "bad names, flags and unknown sessions: exit codes 1 and 2, messages name the problem"

echo hello > "$TMP/words.txt"
cat > "$TMP/job.yaml" <<YAML
name: tiny
stages:
  - name: read
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["words.txt"]}
    command: cat
YAML
expect_exit 1 "session: no session named 'nope'" "$BIN/tailor" submit --session nope "$TMP/job.yaml"
[ "$(curl -sf "$TAILOR_DISPATCHER/v1/jobs" | jq '.total')" = 0 ] || fail "a refused submission was stored"
pass "submit --session to an unknown session: refused, nothing stored"

"$BIN/tailor" session start etl --idle-timeout 30s --min-resources cpus=1,mem=512 > "$TMP/start.out" ||
  fail "session start failed: $(cat "$TMP/start.out")"
grep -q "session etl STARTING" "$TMP/start.out" || fail "session start printed: $(cat "$TMP/start.out")"
"$BIN/tailor" session list -o json > "$TMP/list.json" || fail "session list failed"
expect_json "$TMP/list.json" \
  '.sessions | length == 1 and .[0].name == "etl" and .[0].options.idle_timeout_seconds == 30 and
   .[0].options.min_resources == "cpus=1,mem=512" and .[0].jobmanager.attempt == 1' \
  "session list shows the session with its options"
"$BIN/tailor" session list | grep -q "^NAME " || fail "session list has no header"
"$BIN/tailor" session list | grep -q "^etl " || fail "session list does not show etl"
"$BIN/tailor" session status etl | grep -q "^session etl: " || fail "session status does not show etl"
"$BIN/tailor" list | grep -q "SESSION" || fail "tailor list has no SESSION column"
pass "session start, list (text and json), status"

# Stopped: it ends. (A JobManager that ended by itself first is FAILED, and the stop is refused.)
"$BIN/tailor" session stop etl > "$TMP/stop.out" 2> "$TMP/stop.err" ||
  grep -q "already ended FAILED" "$TMP/stop.err" || fail "session stop: $(cat "$TMP/stop.err")"
wait_json "$TAILOR_DISPATCHER/v1/sessions/etl" \
  '.state == "SESSION_STOPPED" or .state == "SESSION_FAILED"' 60 "the session ends after the stop"
expect_json <(curl -sf "$TAILOR_DISPATCHER/v1/sessions/etl") '.jobmanager.ended_at > 0' \
  "its JobManager's end is recorded"
expect_exit 1 "already ended" "$BIN/tailor" session stop etl
expect_exit 1 "session: session 'etl' is" "$BIN/tailor" submit --session etl "$TMP/job.yaml"
pass "session stop: the session ends, later stops and submissions are refused"
