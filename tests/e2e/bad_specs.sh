# Bad job specs give one clear error each: file, line, field and the problem.
source "$(dirname "$0")/lib.sh" "$1"

check() {
  local name="$1" pattern="$2"
  shift 2
  if "$BIN/tailor" validate "$TMP/$name.yaml" "$@" > "$TMP/$name.out" 2>&1; then
    fail "$name: accepted"
  fi
  grep -Eq -- "$pattern" "$TMP/$name.out" || { cat "$TMP/$name.out"; fail "$name: error does not match /$pattern/"; }
  [ "$(wc -l < "$TMP/$name.out")" -eq 1 ] || { cat "$TMP/$name.out"; fail "$name: more than one error line"; }
  pass "$name: $(cat "$TMP/$name.out")"
}

stage() {  # name, extra lines
  printf '  - name: %s\n    parallelism: 1\n    resources: {cpus: 1, mem: 64}\n    command: cat\n%s' "$1" "${2:-}"
}

{ echo "name: j"; echo "stages:"; stage a '    input: {files: ["x"]}
    paralelism: 2
'; } > "$TMP/unknown_field.yaml"
check unknown_field "unknown_field.yaml:8:5: .*stages\[0\].*unknown field 'paralelism'"

cat > "$TMP/wrong_type.yaml" <<'YAML'
name: j
stages:
  - name: a
    parallelism: eight
    resources: {cpus: 1, mem: 64}
    input: {files: ["x"]}
    command: cat
YAML
check wrong_type "wrong_type.yaml:4:18: .*stages\[0\]\.parallelism.*integer"

{ echo "name: j"; echo "stages:"
  stage a '    inputs: [{stage: c}]
'; stage b '    inputs: [{stage: a}]
'; stage c '    inputs: [{stage: b}]
'; stage d '    input: {files: ["x"]}
'; } > "$TMP/cycle.yaml"
check cycle "cycle.yaml:[0-9]+:[0-9]+: .*cycle: (a|b|c) -> (a|b|c) -> (a|b|c) -> (a|b|c)"

cat > "$TMP/zero_parallelism.yaml" <<'YAML'
name: j
stages:
  - name: a
    parallelism: 0
    resources: {cpus: 1, mem: 64}
    input: {files: ["x"]}
    command: cat
YAML
check zero_parallelism "zero_parallelism.yaml:4:18: .*stages\[0\]\.parallelism.*(at least 1|>= 1)"

cat > "$TMP/too_large.yaml" <<'YAML'
name: j
stages:
  - name: a
    parallelism: 1
    resources: {cpus: 64, mem: 64}
    input: {files: ["x"]}
    command: cat
YAML
check too_large "too_large.yaml:5:.*stages\[0\]\.resources.*cpus.*64.*local cluster" --local-resources cpus=2,mem=1024

# `tailor run` refuses the same spec before starting anything.
if "$BIN/tailor" run "$TMP/too_large.yaml" --local-resources cpus=2,mem=1024 > "$TMP/run.out" 2>&1; then
  fail "tailor run accepted resources larger than the local cluster"
fi
grep -q "local cluster" "$TMP/run.out" || fail "tailor run: unclear error: $(cat "$TMP/run.out")"
pass "tailor run refuses it too"
