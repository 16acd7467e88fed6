#!/usr/bin/env bash
# Runs an end-to-end test N times in a row; fails at the first failing run.
# The high-availability tests run this way in CI (issue: each in a loop of at
# least 5 without a failure).
# usage: tests/ha/repeat.sh N TEST.sh BIN_DIR [more args]
set -uo pipefail
count="${1:?usage: repeat.sh N TEST.sh BIN_DIR [args]}"
test="${2:?usage: repeat.sh N TEST.sh BIN_DIR [args]}"
shift 2
for run in $(seq 1 "$count"); do
  started=$SECONDS
  if ! bash "$test" "$@"; then
    echo "repeat: run $run of $count of $(basename "$test") FAILED after $((SECONDS - started)) s"
    exit 1
  fi
  echo "repeat: run $run of $count of $(basename "$test") passed in $((SECONDS - started)) s"
done
echo "repeat: $count of $count runs of $(basename "$test") passed"
