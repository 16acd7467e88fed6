# A burst of 200 concurrent submissions with --max-running-jobs 4: all
# recorded with distinct ids, all FINISHED, none lost, none run twice, and
# never more than 4 JobManagers at once.
source "$(dirname "$0")/lib.sh" "$1"

count="${BURST_JOBS:-200}"
start_dispatcher d --max-running-jobs 4
seq 1 100 > "$TMP/numbers.txt"
cat > "$TMP/small.yaml" <<YAML
name: small
stages:
  - name: sum
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: "awk '{ s += \$1 } END { print s }'"
YAML

# A watcher samples the number of JobManager processes.
# Children of the Dispatcher only: a JobManager's own child shows the
# JobManager's command line for the moment between its start and exec.
( while true; do pgrep -c -P "$DISPATCHER_PID" -f "tailor-jobmanager .*$TMP/d-state" || true; sleep 0.2; done ) > "$TMP/jm-counts" 2>/dev/null &
background_pids+=($!)

start=$SECONDS
seq 1 "$count" | xargs -P 25 -I{} sh -c \
  '"$0" submit "$1" -o json > "$2/submit-{}.json" 2> "$2/submit-{}.err" || echo "submission {} failed"' \
  "$BIN/tailor" "$TMP/small.yaml" "$TMP" > "$TMP/failures.txt"
[ ! -s "$TMP/failures.txt" ] || { cat "$TMP/failures.txt"; cat "$TMP"/submit-*.err | sort | uniq -c | head; fail "submissions failed"; }
jq -r .id "$TMP"/submit-*.json | sort > "$TMP/ids"
[ "$(wc -l < "$TMP/ids")" -eq "$count" ] || fail "not $count ids"
[ "$(uniq "$TMP/ids" | wc -l)" -eq "$count" ] || fail "duplicate job ids"
echo "submitted $count jobs in $((SECONDS - start))s"

deadline=$((SECONDS + 600))
until [ "$(curl -s "$TAILOR_DISPATCHER/v1/jobs?state=FINISHED&limit=1" | jq .total)" -eq "$count" ]; do
  finished="$(curl -s "$TAILOR_DISPATCHER/v1/jobs?state=FINISHED&limit=1" | jq .total)"
  failed="$(curl -s "$TAILOR_DISPATCHER/v1/jobs?state=FAILED&limit=1" | jq .total)"
  [ "$failed" -eq 0 ] || { "$BIN/tailor" list --state FAILED | head; fail "$failed jobs FAILED"; }
  [ "$SECONDS" -lt "$deadline" ] || fail "only $finished of $count FINISHED"
  sleep 1
done
echo "all $count FINISHED after $((SECONDS - start))s"
curl -s "$TAILOR_DISPATCHER/v1/jobs?limit=1000" > "$TMP/all.json"
expect_json "$TMP/all.json" ".total == $count" "exactly $count records"
expect_json "$TMP/all.json" "[.jobs[].id] | sort == $(jq -R . "$TMP/ids" | jq -sc .)" "the listed ids are the submitted ones"
expect_json "$TMP/all.json" 'all(.jobs[]; .attempt == 1)' "every job ran exactly one JobManager"
for id in $(head -5 "$TMP/ids"); do
  [ "$(cat "$TMP/d-state/jobs/$id/output"/part-*)" = 5050 ] || fail "job $id: wrong sum"
done
max_jm="$(sort -n "$TMP/jm-counts" | tail -1)"
[ "${max_jm:-0}" -le 4 ] || fail "$max_jm JobManagers ran at once (limit 4)"
pass "$count concurrent submissions: distinct ids, all FINISHED once, at most $max_jm JobManagers at once"
