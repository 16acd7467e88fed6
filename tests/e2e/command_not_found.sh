# A command that is not found fails the job at once, naming the stage and the error.
source "$(dirname "$0")/lib.sh" "$1"

echo hello > "$TMP/in.txt"
for form in argv shell; do
  if [ "$form" = argv ]; then
    command='["tailor-no-such-command", "--flag"]'
  else
    command='"tailor-no-such-command --flag"'
  fi
  cat > "$TMP/$form.yaml" <<YAML
name: missing-$form
stages:
  - name: broken
    parallelism: 2
    max_attempts: 4
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["in.txt"]}
    command: $command
YAML
  if "$BIN/tailor" run "$TMP/$form.yaml" --report "$TMP/$form.json" --output "$TMP/out-$form" \
    --local-resources cpus=1,mem=1024 > "$TMP/$form.log" 2>&1; then
    fail "$form: job with a missing command succeeded"
  fi
  grep -q 'stage "broken" failed: command not found' "$TMP/$form.log" || { cat "$TMP/$form.log"; fail "$form: message does not name the stage and the error"; }
  grep -q 'tailor-no-such-command' "$TMP/$form.log" || fail "$form: message does not name the command"
  expect_json "$TMP/$form.json" '.job.status == "FAILED" and .stages[0].attempts <= 2' "$form: failed without retrying"
  pass "$form: $(grep -o 'stage "broken" failed: [^(]*' "$TMP/$form.log" | head -1)"
done
