# The wordcount example: correct top-100, at least two TaskManager sizes,
# every TaskManager released by the job's end, and the report's documented keys.
source "$(dirname "$0")/lib.sh" "$1"

mkdir -p "$TMP/example"
cp "$ROOT/examples/wordcount/job.yaml" "$TMP/example/job.yaml"
generate_input "$TMP/example/data" 8 4

"$BIN/tailor" run "$TMP/example/job.yaml" --output "$TMP/out" --report "$TMP/report.json" \
  --local-resources cpus=2,mem=8192 > "$TMP/run.log" 2>&1 || { cat "$TMP/run.log"; fail "job failed"; }

independent_counts "$TMP"/example/data/*.txt | sort -k2,2nr -k1,1 > "$TMP/all"
head -n 100 "$TMP/all" > "$TMP/want"
cmp -s "$TMP/out/part-00000" "$TMP/want" || { diff "$TMP/out/part-00000" "$TMP/want" | head; fail "top-100 differs"; }
pass "top-100 matches"

r="$TMP/report.json"
expect_json "$r" '.job | has("id") and has("name") and .status == "FINISHED" and .submitted_at > 0 and .finished_at >= .submitted_at' "job keys"
expect_json "$r" '.stages | length == 3 and all(.[]; has("name") and has("parallelism") and (.resources | has("cpus") and has("mem") and has("disk") and has("gpus")) and .attempts >= .parallelism and .started_at > 0 and .finished_at >= .started_at)' "stage keys"
expect_json "$r" '.taskmanagers | length >= 2 and all(.[]; has("id") and has("slots") and (.resources | has("cpus") and has("mem") and has("disk") and has("gpus")) and .launched_at > 0 and .registered_at >= .launched_at)' "taskmanager keys"
expect_json "$r" '.totals.allocated | has("cpu_seconds") and has("mem_mib_seconds")' "allocated totals"
expect_json "$r" '.totals.requested | has("cpu_seconds") and has("mem_mib_seconds")' "requested totals"
expect_json "$r" '[.taskmanagers[] | [.resources.cpus, .resources.mem]] | unique | length >= 2' \
  "at least two distinct TaskManager sizes"
expect_json "$r" '.job.finished_at as $done | all(.taskmanagers[]; .released_at > 0 and .released_at <= $done + 2)' \
  "every TaskManager released before or at the job's end"
pass "$(jq '[.taskmanagers[] | [.resources.cpus, .resources.mem]] | unique | length' "$r") TaskManager sizes, all released"
