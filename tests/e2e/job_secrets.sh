# Job secrets and the partition server (docs/security.md): a job through a
# Dispatcher (local launcher) whose second stage waits while the first
# stage's partitions sit on a TaskManager. Then:
#  - that TaskManager's partition server refuses a fetch without the job's
#    secret or with another, and serves it with the secret the Dispatcher
#    derives for the job (so the refusals are the secret's doing);
#  - path traversal with the right secret: `..`, absolute, encoded forms and
#    a symbolic link planted among the partitions are all refused;
#  - a TaskManager started with a wrong secret against the job's JobManager
#    is refused at once (exit 1, saying so), while the right secret gets it
#    as far as the JobManager's own check of the id;
#  - the Dispatcher's own RPC refuses a status report or a usage-history
#    call without the job's secret or with another;
#  - the job finishes with the right output, and its secret is nowhere in the
#    logs, reports, REST answers or command lines of its processes.
source "$(dirname "$0")/lib.sh" "$1"

start_dispatcher d
seq 1 3000 > "$TMP/numbers.txt"
cat > "$TMP/job.yaml" <<YAML
name: secretive
stages:
  - name: produce
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: cat
  - name: consume
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    inputs: [{stage: produce, partitioning: hash}]
    command: 'sleep 6; sort -n'
YAML
"$BIN/tailor" submit "$TMP/job.yaml" > "$TMP/submit.log" || fail "submit"
id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit.log")"
[ -n "$id" ] || fail "no job id in: $(cat "$TMP/submit.log")"
deadline=$((SECONDS + 30))
until [ "$(job_field "$id" '.stages[1].running')" = 1 ]; do
  [ "$SECONDS" -lt "$deadline" ] || { "$BIN/tailor" status "$id"; fail "the consumer never ran"; }
  sleep 0.1
done

# The secret the Dispatcher derives for the job, from the key in its store.
key="$(cat "$TMP/d-state/values/secret-key")"
[ -n "$key" ] || fail "the Dispatcher keeps no key in its state store"
[ "$(stat -c %a "$TMP/d-state/values")" = 700 ] || fail "the store's values folder is not the owner's only"
secret="$(python3 -c 'import hashlib, hmac, sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$key" "job/$id")"

# A partition of the first stage, and the TaskManager that holds it.
file="$(find "$TMP" -path "*/partitions/$id/*" -type f | head -1)"
[ -n "$file" ] || fail "no partition of $id found"
relative="${file#*/partitions/}"
tm_dir="${file%%/partitions/*}"
tm_id="$(basename "$tm_dir")"
tm="$(curl -s "$TAILOR_DISPATCHER/v1/jobs/$id" | jq -r --arg tm "$tm_id" '.taskmanagers[] | select(.id == $tm) | .address')"
[ -n "$tm" ] && [ "$tm" != null ] || fail "no address for $tm_id"

status_of() {  # URL_PATH [SECRET]: the HTTP status of GET, the path sent as it is
  local headers=()
  [ -n "${2:-}" ] && headers=(-H "Tailor-Secret: $2")
  curl -s --path-as-is -o /dev/null -w '%{http_code}' "${headers[@]}" "http://$tm$1"
}
[ "$(status_of "/partitions/$relative")" = 401 ] || fail "a fetch without the secret was not refused"
[ "$(status_of "/partitions/$relative" wrong-secret)" = 401 ] || fail "a fetch with another secret was not refused"
[ "$(status_of "/partitions/$relative" "$secret")" = 200 ] || fail "the job's own secret does not fetch its partition"
curl -s -H "Tailor-Secret: wrong" "http://$tm/partitions/$relative" | grep -q "$secret" &&
  fail "a refusal repeats the secret"
pass "$tm_id's partition server refuses fetches without the job's secret or with another (401), serves the job's own"

# Traversal, with the right secret.
echo "not a partition" > "$TMP/outside"
ln -s "$TMP/outside" "$(dirname "$file")/planted.part"
ln -s "$TMP" "$(dirname "$file")/planted-dir"
planted="${relative%/*}/planted.part"
for path in "/partitions/../../../outside" "/partitions/$id/../../outside" "/partitions//etc/passwd" \
            "/partitions/$id/./$(basename "$relative")"; do
  [ "$(status_of "$path" "$secret")" = 400 ] || fail "$path was not refused with 400"
done
for path in "/partitions/%2e%2e/%2e%2e/outside" "/partitions/$id/%2E%2E%2F%2E%2E%2Foutside" \
            "/partitions/$planted" "/partitions/${relative%/*}/planted-dir/outside"; do
  [ "$(status_of "$path" "$secret")" = 404 ] || fail "$path was not refused with 404"
done
pass "traversal refused: .., absolute, ./, encoded forms (404: not decoded), planted symbolic links to a file and a folder"

# A TaskManager with a wrong secret against the job's JobManager.
jm="$(curl -s "$TAILOR_DISPATCHER/v1/jobs/$id" | jq -r '.attempts[-1].address')"
[ -n "$jm" ] && [ "$jm" != null ] || fail "no JobManager address"
intruder() {  # NAME SECRET: runs a TaskManager that tries to register with the job's JobManager
  TAILOR_JOB_SECRET="$2" timeout 20 "$BIN/tailor-taskmanager" --taskmanager-id "tm-$1" \
    --resource-manager "$jm" --resources cpus=0.1,mem=64 --work-dir "$TMP/$1" \
    --log-file "$TMP/$1.log" > "$TMP/$1.out" 2>&1
}
started=$SECONDS
intruder wrong "another job's secret" && fail "a TaskManager with a wrong secret kept running"
[ $((SECONDS - started)) -lt 15 ] || fail "the refused TaskManager did not give up at once"
grep -q "registration refused: .*does not carry this job's secret" "$TMP/wrong.log" ||
  { cat "$TMP/wrong.log"; fail "the refused TaskManager does not say why"; }
intruder right "$secret" && fail "a TaskManager the job did not start kept running"
grep -q "registration refused: unknown or released TaskManager tm-right" "$TMP/right.log" ||
  { cat "$TMP/right.log"; fail "with the right secret the JobManager's own check should refuse the unknown id"; }
pass "a TaskManager with another job's secret is refused by the JobManager at once; with the right one it gets as far as the id check"
unset TAILOR_JOB_SECRET

# The Dispatcher's own RPC: each call must carry the secret of the job it names.
proto_field() {  # NUMBER TEXT: one length-delimited protobuf field (short TEXT)
  python3 -c 'import sys; n, t = int(sys.argv[1]), sys.argv[2].encode(); sys.stdout.buffer.write(bytes([n << 3 | 2, len(t)]) + t)' "$1" "$2"
}
dispatcher_rpc() {  # METHOD BODY_FILE [SECRET]: the HTTP status of the call
  local headers=(-H "Content-Type: application/x-protobuf")
  [ -n "${3:-}" ] && headers+=(-H "Tailor-Secret: $3")
  curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "@$2" "${headers[@]}" \
    "$TAILOR_DISPATCHER/rpc/Dispatcher/$1"
}
proto_field 1 "$id" > "$TMP/report.bin"
{ proto_field 1 secretive; proto_field 2 "$id"; } > "$TMP/history.bin"
[ "$(dispatcher_rpc ReportJobStatus "$TMP/report.bin")" = 401 ] || fail "a status report without the job's secret was taken"
[ "$(dispatcher_rpc ReportJobStatus "$TMP/report.bin" wrong-secret)" = 401 ] || fail "a status report with another secret was taken"
[ "$(dispatcher_rpc GetUsageHistory "$TMP/history.bin" wrong-secret)" = 401 ] || fail "GetUsageHistory with another secret answered"
[ "$(dispatcher_rpc GetUsageHistory "$TMP/history.bin" "$secret")" = 200 ] || fail "GetUsageHistory with the job's own secret refused"
pass "the Dispatcher's RPC takes calls for a job only with that job's secret"

wait_job_state "$id" FINISHED 60
sort -n "$(job_field "$id" .output)"/part-* | cmp -s - "$TMP/numbers.txt" || fail "the output differs"

# The secret nowhere: logs, reports, REST answers, command lines.
curl -s "$TAILOR_DISPATCHER/v1/jobs/$id" > "$TMP/view.json"
curl -s "$TAILOR_DISPATCHER/v1/jobs/$id/report" > "$TMP/report.json"
curl -s "$TAILOR_DISPATCHER/v1/jobs" > "$TMP/list.json"
"$BIN/tailor" status "$id" > "$TMP/status.txt"
ps -eo args > "$TMP/ps.txt"
grep -rl --binary-files=text -e "$secret" -e "$key" "$TMP/d-state" "$TMP/view.json" "$TMP/report.json" \
  "$TMP/list.json" "$TMP/status.txt" "$TMP/ps.txt" "$TMP/d.log" "$TMP/d.out" 2> /dev/null |
  grep -v "/values/secret-key$" > "$TMP/leaks.txt" || true
[ ! -s "$TMP/leaks.txt" ] || fail "the job's secret or the key found in: $(tr '\n' ' ' < "$TMP/leaks.txt")"
pass "the job FINISHED with the right output; its secret is in no log, report, REST answer or command line"
