# Shared helpers for the end-to-end tests. Each test is a bash script run by
# ctest as `bash TEST.sh BIN_DIR`; it runs the real binaries on the local
# cluster in a temporary directory and exits non-zero on failure.
set -euo pipefail

BIN="$(cd "${1:?usage: TEST.sh BIN_DIR}" && pwd)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/tailor-e2e.XXXXXX")"
export LC_ALL=C
background_pids=()

cleanup() {
  for pid in "${background_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "kept $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

pass() {
  echo "PASS: $*"
}

# generate_input DIR MIB FILES
generate_input() {
  "$ROOT/examples/wordcount/generate-input" "$1" "$2" "$3" >/dev/null
}

# Word counts of the files given, computed without Tailor: "word<TAB>count".
independent_counts() {
  cat "$@" | tr -cs 'A-Za-z' '\n' | tr 'A-Z' 'a-z' | grep -v '^$' | sort | uniq -c |
    awk '{ print $2 "\t" $1 }'
}

# Fails unless the JSON expression (jq -e) holds for FILE.
expect_json() {
  local file="$1" expression="$2" what="$3"
  jq -e "$expression" "$file" >/dev/null || { jq -c . "$file" >&2; fail "$what (jq: $expression)"; }
}

# wait_for PATTERN FILE SECONDS: waits until FILE has a line matching PATTERN.
wait_for() {
  local pattern="$1" file="$2" seconds="$3"
  local deadline=$((SECONDS + seconds))
  until grep -q -- "$pattern" "$file" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "timed out waiting for '$pattern' in $file"
    fi
    sleep 0.05
  done
}

# The full wordcount job: tokenize (source) -> count (sink, hash partitioned).
write_full_wordcount_job() {
  local file="$1" data="$2" count_command="${3:-}"
  if [ -z "$count_command" ]; then
    count_command='awk -F "\t" "{ c[\$1] += \$2 } END { for (w in c) print w \"\t\" c[w] }"'
  fi
  cat > "$file" <<YAML
name: wordcount-full
stages:
  - name: tokenize
    parallelism: 6
    resources: {cpus: 0.125, mem: 64MiB}
    input: {files: ["$data/*.txt"]}
    env: {LC_ALL: C}
    command: >-
      tr -cs 'A-Za-z' '\n' | tr 'A-Z' 'a-z' | grep -v '^\$' | sort | uniq -c
      | awk '{ print \$2 "\t" \$1 }'
  - name: count
    parallelism: 3
    resources: {cpus: 0.25, mem: 512MiB}
    inputs: [{stage: tokenize, partitioning: hash}]
    env: {LC_ALL: C}
    command: '$count_command'
YAML
}
