# Measured usage (docs/observability.md, "Measured usage"): a task burning
# 2 s of CPU and one holding 300 MiB are measured within 10 % in the report
# (the memory above tailor-burn's own baseline, measured with 0 MiB); a task
# going over its mem is killed, runs again once with more and the job
# finishes, the report showing both attempts and why; a task going over even
# the retry's mem fails the job with a clear error. Locally, then the first
# job on the fake Mesos.
source "$(dirname "$0")/lib.sh" "$1"

echo one > "$TMP/one.txt"
BURN="$BIN/tailor-burn"

# job NAME STAGE... : a job whose stages read one line each after the other;
# each STAGE is "name|mem|command".
job() {
  local name="$1"
  shift
  echo "name: $name"
  echo "stages:"
  local previous=""
  for stage in "$@"; do
    IFS='|' read -r sname mem command <<< "$stage"
    echo "  - name: $sname"
    echo "    parallelism: 1"
    echo "    max_attempts: 1"
    echo "    resources: {cpus: 1, mem: $mem}"
    if [ -z "$previous" ]; then
      echo "    input: {files: [\"one.txt\"]}"
    else
      echo "    inputs: [{stage: $previous, partitioning: forward}]"
    fi
    echo "    command: '$command'"
    previous="$sname"
  done
}

run_local() {
  local case="$1"
  "$BIN/tailor" run "$TMP/$case.yaml" --output "$TMP/out-$case" --report "$TMP/report-$case.json" \
    --local-resources cpus=2,mem=2048 > "$TMP/run-$case.log" 2>&1
}

# usage STAGE FIELD: that stage's measured usage of its last attempt.
usage() {
  jq -r --arg s "$1" "[.attempts[] | select(.stage == \$s)] | last | .usage.$2" "$REPORT"
}

# within VALUE WANT PERCENT WHAT
within() {
  awk -v v="$1" -v w="$2" -v p="$3" 'BEGIN { d = v - w; if (d < 0) d = -d; exit !(d <= w * p / 100) }' ||
    fail "$4: $1, not within $3 % of $2"
}

check_measured() {
  local where="$1"
  REPORT="$TMP/report-$where.json"
  expect_json "$REPORT" '.job.status == "FINISHED"' "$where: job finished"
  local baseline cpu peak
  baseline="$(usage baseline peak_mem_mib)"
  cpu="$(usage cpu cpu_seconds)"
  peak="$(usage mem peak_mem_mib)"
  awk -v b="$baseline" 'BEGIN { exit !(b > 0 && b < 30) }' || fail "$where: baseline $baseline MiB"
  within "$cpu" 2.0 10 "$where: cpu_seconds of the 2 s burn"
  within "$peak" "$(awk -v b="$baseline" 'BEGIN { print 300 + b }')" 10 \
    "$where: peak_mem_mib of the 300 MiB task (baseline $baseline MiB)"
  expect_json "$REPORT" 'all(.attempts[]; .usage.source == "proc")' "$where: source proc"
  expect_json "$REPORT" '[.attempts[] | select(.stage == "cpu")][0].usage | .read_bytes == "4" and .written_bytes == "4"' \
    "$where: stdin/stdout bytes of the cpu task (\"one\\n\")"
  expect_json "$REPORT" '.stages[] | select(.name == "mem") | .usage |
      .requested.mem == 512 and .max_peak_mem_mib > 300 and .recommended.mem >= 384 and
      .recommended.mem <= 448 and (.recommendation | length > 0)' \
    "$where: the mem stage's usage and recommendation"
  expect_json "$REPORT" '.stages[] | select(.name == "cpu") | .usage.max_cpus_used > 0.05 and .usage.max_cpus_used <= 1.05' \
    "$where: the cpu stage used at most one CPU"
  pass "$where: cpu $cpu s of 2.0; peak $peak MiB of 300 + baseline $baseline MiB"
}

job measured "baseline|512|$BURN --mem-mib 0 --hold-ms 500" "cpu|512|$BURN --cpu-seconds 2" \
  "mem|512|$BURN --mem-mib 300 --hold-ms 500" > "$TMP/measured.yaml"
run_local measured || { cat "$TMP/run-measured.log"; fail "the measured job failed"; }
check_measured measured
grep -q "^usage: mem: asked 1 cpu 512 MiB, used .* MiB peak; recommended" "$TMP/run-measured.log" ||
  { cat "$TMP/run-measured.log"; fail "tailor run does not print the stages' usage"; }
pass "tailor run prints the stages' usage"

# Over its mem (200 MiB): killed, then once more with max(2 x 200, 1.5 x peak).
job retried "big|200|$BURN --mem-mib 300 --hold-ms 1500" > "$TMP/retried.yaml"
run_local retried || { cat "$TMP/run-retried.log"; fail "the job whose task was retried with more memory failed"; }
REPORT="$TMP/report-retried.json"
expect_json "$REPORT" '.job.status == "FINISHED" and (.attempts | length) == 2' "retried: FINISHED after 2 attempts"
expect_json "$REPORT" '.attempts[0] | .failure == "MEMORY_EXCEEDED" and .resources.mem == 200 and
    .usage.peak_mem_mib > 200 and (.note | test("went over its memory .*runs again once with mem [0-9]+ MiB"))' \
  "retried: the first attempt killed for its memory, and why"
expect_json "$REPORT" '.attempts[1] | .failure == "" and .resources.mem >= 400 and .usage.peak_mem_mib > 300' \
  "retried: the second attempt ran with more memory"
grep -q "over the 200 MiB its slot allows" "$TMP/run-retried.log" || { cat "$TMP/run-retried.log"; fail "retried: no message naming used vs allowed"; }
pass "a task over its mem ran again with $(jq '.attempts[1].resources.mem' "$REPORT") MiB and the job finished"

# Over even the retry's mem: the job fails, saying so.
job hungry "huge|100|$BURN --mem-mib 600 --hold-ms 1500" > "$TMP/hungry.yaml"
if run_local hungry; then fail "a task over even its retry's memory did not fail the job"; fi
grep -q 'stage "huge" failed: task huge\[0\] went over its memory again after its retry with more: killed: its processes used [0-9]* MiB, over the [0-9]* MiB its slot allows (mem)' \
  "$TMP/run-hungry.log" || { cat "$TMP/run-hungry.log"; fail "hungry: no clear error"; }
expect_json "$TMP/report-hungry.json" '.job.status == "FAILED" and (.attempts | length) == 2 and
    all(.attempts[]; .failure == "MEMORY_EXCEEDED") and (.attempts[1].note | test("the job fails"))' \
  "hungry: two attempts killed for their memory"
pass "a task over even its retry's memory fails the job: $(grep -o 'went over its memory again.*' "$TMP/run-hungry.log" | head -1)"

# The same measuring on the fake Mesos (the TaskManager as an executor).
start_fake master
run_on_mesos measured "$TMP/measured.yaml"
wait "$JOB_PID" || { cat "$TMP/run-measured.log"; fail "the measured job failed on the fake Mesos"; }
check_measured measured
