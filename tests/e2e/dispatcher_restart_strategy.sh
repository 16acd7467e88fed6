# Restart strategies with the real binaries: the Dispatcher's default from
# --restart-* flags restarts a job whose JobManager is SIGKILLed and gives up
# as it says; a spec's own strategy wins (none: no restart); a job whose
# task fails for good runs again only when its restart_on names job-failed;
# a bad restart_strategy block is refused at submission with its line.
source "$(dirname "$0")/lib.sh" "$1"

start_dispatcher d --restart-strategy fixed-delay --restart-attempts 1 --restart-delay 200ms
seq 1 1000 > "$TMP/numbers.txt"

# write_job NAME RESTART_STRATEGY_LINES COMMAND: $TMP/NAME.yaml, one task of
# COMMAND over numbers.txt with one attempt, the restart_strategy lines
# (if any) from line 2.
write_job() {
  {
    echo "name: $1"
    [ -z "$2" ] || echo "$2"
    cat <<YAML
stages:
  - name: run
    parallelism: 1
    max_attempts: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: '$3'
YAML
  } > "$TMP/$1.yaml"
}

# submitted_id NAME: submits $TMP/NAME.yaml, prints the job's id.
submitted_id() {
  "$BIN/tailor" submit "$TMP/$1.yaml" > "$TMP/$1.log"
  sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/$1.log"
}

# kill_jobmanager ID N: SIGKILLs attempt N's JobManager once it runs.
kill_jobmanager() {
  local id="$1" attempt="$2" pid
  local deadline=$((SECONDS + 30))
  until [ "$(job_field "$id" "(.attempts | length) == $attempt and .state == \"RUNNING\"")" = true ]; do
    [ "$SECONDS" -lt "$deadline" ] || { "$BIN/tailor" status "$id"; fail "attempt $attempt of $id never ran"; }
    sleep 0.1
  done
  pid="$(job_field "$id" ".attempts[$((attempt - 1))].pid")"
  kill -9 "$pid"
}

# 1. The Dispatcher's default: one restart, 200 ms after the loss.
submit_slow_job flagged
id="$SLOW_ID"
expect_json <("$BIN/tailor" status "$id" -o json) \
  '.restart_strategy.type == "FIXED_DELAY" and .restart_strategy.attempts == 1 and .restart_strategy.delay_seconds == 0.2' \
  "the default strategy from the flags"
"$BIN/tailor" status "$id" | grep -q "restart strategy fixed-delay (attempts 1, delay 200ms" ||
  fail "status does not show the restart strategy"
kill_jobmanager "$id" 1
kill_jobmanager "$id" 2
wait_job_state "$id" FAILED 30
expect_json <("$BIN/tailor" status "$id" -o json) \
  '(.attempts | length) == 2 and (.error | startswith("fixed-delay: 2 failures, more than attempts 1; the last failure: JobManager attempt 2 killed by signal 9"))' \
  "restarted once, then given up naming the strategy"
pass "the Dispatcher's fixed-delay from its flags: one restart after a SIGKILLed JobManager, then FAILED"

# 2. A spec's own strategy wins: none fails at the first loss.
write_job never "restart_strategy: none" 'sleep 60; cat'
never="$(submitted_id never)"
kill_jobmanager "$never" 1
wait_job_state "$never" FAILED 30
expect_json <("$BIN/tailor" status "$never" -o json) \
  '(.attempts | length) == 1 and (.error | startswith("none: the job is never restarted"))' \
  "no restart with restart_strategy: none"
pass "restart_strategy: none in the spec: FAILED at the first JobManager loss"

# 3. A task that fails for good: the job runs again only with job-failed in restart_on.
explode='echo "explosion" >&2; exit 7'
write_job plain "" "$explode"
write_job again "restart_strategy: {type: fixed-delay, attempts: 1, delay: 100ms, restart_on: [jobmanager-lost, job-failed]}" "$explode"
plain="$(submitted_id plain)"
again="$(submitted_id again)"
wait_job_state "$plain" FAILED 30
wait_job_state "$again" FAILED 60
expect_json <("$BIN/tailor" status "$plain" -o json) \
  '(.attempts | length) == 1 and (.error | startswith("stage \"run\" failed"))' \
  "a failed job is not restarted by default"
expect_json <("$BIN/tailor" status "$again" -o json) \
  '(.attempts | length) == 2 and (.attempts[0].job_error | startswith("stage \"run\" failed")) and (.error | startswith("fixed-delay: 2 failures, more than attempts 1; the last failure: JobManager attempt 2 ended the job FAILED: stage \"run\" failed"))' \
  "a failed job restarted once with restart_on job-failed"
expect_json <("$BIN/tailor" report "$again") '.job.status == "FAILED"' "the last attempt's report kept"
pass "job-failed: restarted once when restart_on names it, never by default"

# 4. A bad block is refused with its place.
write_job bad "$(printf 'restart_strategy:\n  type: fixed-delay\n  jitter_factor: 0.1')" cat
if "$BIN/tailor" submit "$TMP/bad.yaml" > "$TMP/bad.log" 2>&1; then fail "a bad restart_strategy was accepted"; fi
grep -q "bad.yaml:4:3: restart_strategy: 'jitter_factor' does not apply to fixed-delay" "$TMP/bad.log" ||
  { cat "$TMP/bad.log"; fail "the refusal does not name the line and field"; }
pass "a bad restart_strategy block is refused at submission naming file:line:field"
