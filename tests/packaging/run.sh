# Runs one packaging test module:  run.sh MODULE [BIN_DIR]
# MODULE is test_marathon_rules, test_checklist or test_app_definitions; with
# BIN_DIR (the built binaries) test_app_definitions also checks the flags
# against them. Needs a python3 with jsonschema and pystache (scripts/install-deps
# installs python3-jsonschema and python3-pystache for Debian's python3, which may
# not be the first python3 on PATH; PYTHON3 picks another).
set -euo pipefail
module="${1:?usage: run.sh MODULE [BIN_DIR]}"
if [ $# -ge 2 ]; then
  export TAILOR_BIN_DIR="$2"
fi
PYTHON=""
for candidate in "${PYTHON3:-}" /usr/bin/python3 python3; do
  if [ -n "$candidate" ] && "$candidate" -c 'import jsonschema, pystache' 2>/dev/null; then
    PYTHON="$candidate"
    break
  fi
done
if [ -z "$PYTHON" ]; then
  echo "run.sh: no python3 with jsonschema and pystache (run scripts/install-deps)" >&2
  exit 1
fi
cd "$(dirname "$0")"
exec "$PYTHON" -B -m unittest -v "$module"
