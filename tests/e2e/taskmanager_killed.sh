# A TaskManager killed with SIGKILL mid-job: its running tasks run again
# elsewhere, producers whose partitions it held run again (lineage), and the
# output is still correct. Two cases: kill the counters' TM, kill a producer's TM.
source "$(dirname "$0")/lib.sh" "$1"

generate_input "$TMP/data" 8 4
independent_counts "$TMP"/data/*.txt | sort > "$TMP/want"
# Counters sleep first, so the kill lands while they run.
slow_count='sleep 2; awk -F "\t" "{ c[\$1] += \$2 } END { for (w in c) print w \"\t\" c[w] }"'
write_full_wordcount_job "$TMP/job.yaml" "$TMP/data" "$slow_count"

run_and_kill() {
  local case="$1" work="$TMP/work-$1"
  "$BIN/tailor" run "$TMP/job.yaml" --output "$TMP/out-$case" --report "$TMP/report-$case.json" \
    --work-dir "$work" --local-resources cpus=2,mem=4096 > "$TMP/run-$case.log" 2>&1 &
  local job=$!
  background_pids+=("$job")
  wait_for "stage count started" "$TMP/run-$case.log" 60
  sleep 0.5
  local victim=""
  # TaskManagers name attempts "<job id>/<attempt id>".
  for log in "$work"/logs/tm-*.log; do
    if [ "$case" = counter ] && grep -qE "running ([^ ]*/)?count\\[" "$log"; then
      victim=$(basename "$log" .log)
      break
    fi
    if [ "$case" = producer ] && grep -qE "running ([^ ]*/)?tokenize\\[" "$log" && ! grep -qE "running ([^ ]*/)?count\\[" "$log"; then
      victim=$(basename "$log" .log)
      break
    fi
  done
  [ -n "$victim" ] || fail "$case: no TaskManager to kill"
  local pid
  pid=$(pgrep -f -- "--work-dir $work/taskmanagers/$victim( |$)" | head -1)
  [ -n "$pid" ] || fail "$case: no process for $victim"
  kill -9 "$pid"
  echo "killed $victim (pid $pid)"
  wait "$job" || { cat "$TMP/run-$case.log"; fail "$case: job failed after the kill"; }
  sort "$TMP"/out-$case/part-* | cmp -s - "$TMP/want" || fail "$case: output differs after the kill"
  expect_json "$TMP/report-$case.json" \
    "any(.taskmanagers[]; .id == \"$victim\" and (.exit | startswith(\"lost\")))" \
    "$case: $victim reported lost"
}

run_and_kill counter
expect_json "$TMP/report-counter.json" '.stages[1].attempts > 3' "counter tasks ran again"
pass "counters' TaskManager killed: counters re-ran elsewhere, output correct"

run_and_kill producer
expect_json "$TMP/report-producer.json" '.stages[0].attempts > 6' "producers ran again (lineage)"
pass "producer's TaskManager killed: its partitions were recomputed, output correct"
