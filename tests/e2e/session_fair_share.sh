# Fair share in a session (docs/sizing.md): two jobs of equal priority,
# submitted together to a session whose local cluster (cpus=2) holds half of
# what they ask at once, get slot-seconds within 20 % of each other over the
# time both ran, measured from their reports' attempts.
source "$(dirname "$0")/lib.sh" "$1"

start_dispatcher d
"$BIN/tailor" session start fair --idle-timeout 60s > /dev/null || fail "session start"
wait_json "$TAILOR_DISPATCHER/v1/sessions/fair" '.state == "SESSION_RUNNING"' 60 "the session runs"

seq 1 800 > "$TMP/numbers.txt"
for name in left right; do
  cat > "$TMP/$name.yaml" <<YAML
name: $name
stages:
  - name: work
    parallelism: 8
    resources: {cpus: 0.5, mem: 64}
    input: {files: ["numbers.txt"]}
    command: 'sleep 1; cat'
YAML
done
# Four slots of cpus=0.5 fit the cluster; the two jobs ask for eight at once.
"$BIN/tailor" submit --session fair "$TMP/left.yaml" --wait > "$TMP/left.log" 2>&1 &
left_pid=$!
"$BIN/tailor" submit --session fair "$TMP/right.yaml" --wait > "$TMP/right.log" 2>&1 &
right_pid=$!
wait "$left_pid" || { cat "$TMP/left.log"; fail "left failed"; }
wait "$right_pid" || { cat "$TMP/right.log"; fail "right failed"; }
for name in left right; do
  id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/$name.log")"
  "$BIN/tailor" report "$id" > "$TMP/$name.report.json" || fail "no report for $name"
  sort -n "$(job_field "$id" .output)"/part-* | cmp -s - "$TMP/numbers.txt" || fail "$name: output differs"
done

# Over [the later start, the earlier end]: each attempt's overlap with it
# times its CPUs (both jobs ask the same profile, so slots weigh the same).
jq -s '
  ([.[].job.submitted_at] | max) as $from | ([.[].job.finished_at] | min) as $to |
  [.[] | [.attempts[] | ([.finished_at, $to] | min) - ([.started_at, $from] | max) |
          if . > 0 then . else 0 end] | add * 0.5] as $s |
  {from: $from, to: $to, left: $s[0], right: $s[1],
   ratio: (([$s[0], $s[1]] | min) / ([$s[0], $s[1]] | max))}' \
  "$TMP/left.report.json" "$TMP/right.report.json" > "$TMP/shares.json"
cat "$TMP/shares.json"
expect_json "$TMP/shares.json" '.to > .from and .ratio >= 0.8' "slot-seconds within 20 % of each other"
pass "fair share: $(jq -r '"cpu-seconds \(.left * 100 | round / 100) vs \(.right * 100 | round / 100) over \((.to - .from) * 100 | round / 100) s"' "$TMP/shares.json")"
"$BIN/tailor" session stop fair > /dev/null || fail "session stop"
wait_json "$TAILOR_DISPATCHER/v1/sessions/fair" '.state == "SESSION_STOPPED"' 60 "the session stopped"
