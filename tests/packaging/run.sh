# Runs one packaging test module:  run.sh MODULE [BIN_DIR]
# MODULE is test_marathon_rules, test_checklist or test_app_definitions; with
# BIN_DIR (the built binaries) test_app_definitions also checks the apps' flags
# against them and starts the Dispatcher as Marathon would. Needs a python3 with jsonschema and pystache (scripts/install-deps
# installs python3-jsonschema and python3-pystache for Debian's python3, which may
# not be the first python3 on PATH; PYTHON3 picks another: tests/find-python3).
set -euo pipefail
module="${1:?usage: run.sh MODULE [BIN_DIR]}"
if [ $# -ge 2 ]; then
  export TAILOR_BIN_DIR="$2"
fi
PYTHON="$(bash "$(dirname "$0")/../find-python3" jsonschema pystache)"
cd "$(dirname "$0")"
exec "$PYTHON" -B -m unittest -v "$module"
