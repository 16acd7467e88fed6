# Runs the fake Marathon's tests:  run.sh [unittest arguments, e.g. -v AppRunTest]
# Needs a python3 with jsonschema, for the Marathon rules module the fake validates
# apps with (tests/find-python3 picks it; PYTHON3 picks another).
set -euo pipefail
PYTHON="$(bash "$(dirname "$0")/../find-python3" jsonschema)"
exec "$PYTHON" -B "$(dirname "$0")/test_fake_marathon.py" "$@"
