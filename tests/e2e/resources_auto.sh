# Right-sizing (docs/observability.md, "Right-sizing"): a `resources: auto`
# stage whose first run over-asks (its fallback: 4 CPUs, 1 GiB, for a task
# that uses about 1 CPU and 200 MiB) asks at its second run for at most 1.5x
# what it used, with the report saying why; through `tailor run` (history in
# a --usage-history folder) and through a Dispatcher (history in its state
# store, asked for with Dispatcher.GetUsageHistory).
source "$(dirname "$0")/lib.sh"

echo one > "$TMP/one.txt"
cat > "$TMP/job.yaml" <<YAML
name: right-sized
stages:
  - name: burn
    parallelism: 1
    resources: {cpus: 4, mem: 1GiB, auto: true}
    input: {files: ["one.txt"]}
    command: '$BIN/tailor-burn --cpu-seconds 1 --mem-mib 200'
YAML

# check_sized FIRST SECOND WHERE: the first report took the fallback, the
# second asks for at most 1.5x what the first used, and says where from.
check_sized() {
  local first="$1" second="$2" where="$3"
  expect_json "$first" '.job.status == "FINISHED"' "$where: first run finished"
  expect_json "$second" '.job.status == "FINISHED"' "$where: second run finished"
  expect_json "$first" '.stages[0].resources.cpus == 4 and .stages[0].resources.mem == 1024' \
    "$where: the first run asked for the fallback"
  expect_json "$first" '.stages[0].resources_reason | test("no earlier run")' \
    "$where: the first run says it took the fallback"
  local used_cpus used_mem asked_cpus asked_mem
  used_cpus="$(jq '.stages[0].usage.max_cpus_used' "$first")"
  used_mem="$(jq '.stages[0].usage.max_peak_mem_mib' "$first")"
  asked_cpus="$(jq '.stages[0].resources.cpus' "$second")"
  asked_mem="$(jq '.stages[0].resources.mem' "$second")"
  echo "$where: first run used $used_cpus cpus, $used_mem MiB; second asked $asked_cpus cpus, $asked_mem MiB"
  awk -v u="$used_mem" 'BEGIN { exit !(u > 150 && u < 300) }' ||
    fail "$where: the burn task's peak memory $used_mem MiB is not about 200"
  awk -v a="$asked_cpus" -v u="$used_cpus" -v b="$asked_mem" -v m="$used_mem" \
    'BEGIN { exit !(a <= 1.5 * u && a >= u && b <= 1.5 * m && b >= m) }' ||
    fail "$where: the second run asked $asked_cpus cpus, $asked_mem MiB for $used_cpus cpus, $used_mem MiB used"
  expect_json "$second" '.stages[0].resources_reason | test("highest recommendation of the last 1 run of job right-sized")' \
    "$where: the second run says where its profile came from"
}

# tailor run, the history in a folder of its own.
for run in 1 2; do
  (cd "$TMP" && "$BIN/tailor" run job.yaml --usage-history "$TMP/usage" --output "$TMP/out-$run" \
    --report "$TMP/run-$run.json" --local-resources cpus=8,mem=4096 > "$TMP/run-$run.log" 2>&1) ||
    { cat "$TMP/run-$run.log"; fail "tailor run $run failed"; }
done
[ -s "$TMP/usage/right-sized.json" ] || fail "tailor run left no usage history"
check_sized "$TMP/run-1.json" "$TMP/run-2.json" "tailor run"
pass "tailor run: the second run of an auto stage asks for at most 1.5x what the first used"

# A damaged history: named, and the run goes on with the fallback.
echo '{not json' > "$TMP/usage/right-sized.json"
(cd "$TMP" && "$BIN/tailor" run job.yaml --usage-history "$TMP/usage" --output "$TMP/out-3" \
  --report "$TMP/run-3.json" --local-resources cpus=8,mem=4096 > "$TMP/run-3.log" 2>&1) ||
  fail "a damaged usage history failed the run"
grep -q "usage history '$TMP/usage/right-sized.json': not a usage history" "$TMP/run-3.log" ||
  fail "a damaged usage history was not named"
expect_json "$TMP/run-3.json" '.stages[0].resources.mem == 1024' "damaged history: the fallback"

# Through a Dispatcher: its JobManagers ask it for the history.
LOCAL_RESOURCES=cpus=8,mem=4096 start_dispatcher dispatcher
for run in 1 2; do
  "$BIN/tailor" submit --wait "$TMP/job.yaml" > "$TMP/submit-$run.log" 2>&1 ||
    { cat "$TMP/submit-$run.log"; fail "submitted run $run failed"; }
  id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit-$run.log")"
  "$BIN/tailor" report "$id" > "$TMP/dispatched-$run.json"
done
check_sized "$TMP/dispatched-1.json" "$TMP/dispatched-2.json" "Dispatcher"
pass "Dispatcher: the second run of an auto stage asks for at most 1.5x what the first used"
