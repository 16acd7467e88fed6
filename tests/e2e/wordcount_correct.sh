# The full word count on input large enough that every counter fetches
# partitions from other TaskManagers equals `sort | uniq -c` of the same text.
source "$(dirname "$0")/lib.sh" "$1"

generate_input "$TMP/data" 24 6
write_full_wordcount_job "$TMP/job.yaml" "$TMP/data"

"$BIN/tailor" run "$TMP/job.yaml" --output "$TMP/out" --report "$TMP/report.json" \
  --local-resources cpus=2,mem=4096 > "$TMP/run.log" 2>&1 || { cat "$TMP/run.log"; fail "job failed"; }

sort "$TMP"/out/part-* > "$TMP/got"
independent_counts "$TMP"/data/*.txt | sort > "$TMP/want"
cmp -s "$TMP/got" "$TMP/want" || { diff "$TMP/got" "$TMP/want" | head; fail "counts differ"; }
[ "$(wc -l < "$TMP/want")" -gt 1000 ] || fail "too few distinct words to be a real test"
pass "$(wc -l < "$TMP/want") distinct words counted correctly"

expect_json "$TMP/report.json" '.job.status == "FINISHED"' "status is FINISHED"
expect_json "$TMP/report.json" \
  '[.stages[] | select(.name == "count")][0] | .remote_inputs >= 18 and .remote_input_bytes > 1000000' \
  "every counter fetched its 6 inputs from other TaskManagers"
expect_json "$TMP/report.json" '.totals.requested.cpu_seconds > 0 and .totals.allocated.cpu_seconds >= .totals.requested.cpu_seconds' \
  "allocated resource-seconds cover the requested ones"
pass "counters fetched $(jq '[.stages[] | select(.name == "count")][0].remote_input_bytes' "$TMP/report.json") bytes from other TaskManagers"
