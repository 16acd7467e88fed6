# The Dispatcher's REST API against docs/openapi.yaml: every path and status
# the document lists, each answer validated against its schema
# (tests/dispatcher/openapi_check.py); then the service still answers after
# all the bad input, and nothing was written outside its state directory
# (path traversal in submitted file names is refused, not stored).
source "$(dirname "$0")/lib.sh" "$1"

# A python3 with PyYAML and jsonschema (scripts/install-deps installs them for
# Debian's python3, which may not be the first python3 on PATH).
PYTHON="$(bash "$ROOT/tests/find-python3" yaml jsonschema)" ||
  fail "no python3 with yaml and jsonschema (run scripts/install-deps)"

# The state directory inside a fresh parent, the Dispatcher's working
# directory empty: anything written beside them shows up below.
mkdir -p "$TMP/parent" "$TMP/cwd" "$TMP/check"
state="$TMP/parent/state"
etc_x_before=0
[ -e /etc/x ] && etc_x_before=1

(cd "$TMP/cwd" && exec "$BIN/tailor-dispatcher" --port 0 --bind 127.0.0.1 --state-store "local:$state" \
  --jobmanager-arg "--local-resources cpus=2,mem=4096" --max-upload-size 1MiB --max-running-jobs 2) \
  > "$TMP/dispatcher.out" 2> "$TMP/dispatcher.log" &
background_pids+=($!)
wait_for "tailor-dispatcher listening on" "$TMP/dispatcher.out" 10
port="$(sed -n 's/^tailor-dispatcher listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$TMP/dispatcher.out")"
[ -n "$port" ] || fail "no port in: $(cat "$TMP/dispatcher.out")"
url="http://127.0.0.1:$port"
pass "dispatcher listening on $url"

if ! "$PYTHON" "$ROOT/tests/dispatcher/openapi_check.py" --spec "$ROOT/docs/openapi.yaml" \
    --url "$url" --work "$TMP/check" --max-upload-size 1MiB > "$TMP/check.log" 2>&1; then
  cat "$TMP/check.log"
  echo "--- dispatcher log (last 30 lines)" >&2
  tail -30 "$TMP/dispatcher.log" >&2
  fail "openapi_check.py: $(tail -1 "$TMP/check.log")"
fi
cat "$TMP/check.log"
pass "openapi_check.py: $(tail -1 "$TMP/check.log")"

# Still serving after the bad input, with no JobManager left running.
curl -sf "$url/health" > "$TMP/health.json" || fail "/health does not answer after the checks"
expect_json "$TMP/health.json" '.status == "ok"' "/health says ok"
curl -sf "$url/v1/overview" > "$TMP/overview.json" || fail "/v1/overview does not answer"
expect_json "$TMP/overview.json" '.jobmanagers == 0 and .jobs.RUNNING == 0 and .jobs.LAUNCHING == 0' \
  "no JobManager left running"
pass "dispatcher still answers /health and /v1/overview"

# Nothing beside the state directory, nothing in the Dispatcher's working directory.
[ "$(ls -A "$TMP/parent")" = "state" ] || fail "written beside the state directory: $(ls -A "$TMP/parent")"
# jobs/, sessions/ for the session the checks started and values/ for the
# usage histories of the jobs that ran (docs/observability.md, "Right-sizing").
[ "$(ls -A "$state" | tr '\n' ' ')" = "jobs sessions values " ] ||
  fail "unexpected entries in the state directory: $(ls -A "$state")"
[ -z "$(ls -A "$TMP/cwd")" ] || fail "written into the Dispatcher's working directory: $(ls -A "$TMP/cwd")"
pass "nothing written beside the state directory"

# Every job folder is a stored job (a record) with only the Dispatcher's own
# entries; refused submissions left none behind.
curl -sf "$url/v1/jobs?limit=1000" > "$TMP/jobs.json" || fail "GET /v1/jobs failed"
jobs_listed="$(jq '.total' "$TMP/jobs.json")"
jobs_stored=0
for dir in "$state"/jobs/*/; do
  dir="${dir%/}"
  id="$(basename "$dir")"
  [ -f "$dir/record.pb" ] || fail "job folder $id has no record (a refused submission left files?)"
  jq -e --arg id "$id" 'any(.jobs[]; .id == $id)' "$TMP/jobs.json" > /dev/null || fail "job folder $id is not a listed job"
  for entry in "$dir"/* "$dir"/.[!.]*; do
    [ -e "$entry" ] || continue
    case "$(basename "$entry")" in
      files | record.pb | output | work | jobmanager | jobmanager-[0-9]*.log | jobmanager-[0-9]*.out | report-[0-9]*.json) ;;
      *) fail "unexpected entry in job folder $id: $(basename "$entry")" ;;
    esac
  done
  jobs_stored=$((jobs_stored + 1))
done
[ "$jobs_stored" -eq "$jobs_listed" ] || fail "$jobs_stored job folders for $jobs_listed jobs"
pass "$jobs_stored job folders, one per listed job, each with a record"

# No file named like a traversal target anywhere under $TMP outside the
# stored files of the jobs (the check's transcripts are text, not such files).
find "$TMP" \( -path "$state/jobs/*/files/*" -o -path "$TMP/check" \) -prune -o \
  \( -name x -o -name a -o -name b -o -name escaped -o -name escaped-absolute \) -print > "$TMP/escaped.txt"
[ ! -s "$TMP/escaped.txt" ] || fail "files written outside the job folders: $(cat "$TMP/escaped.txt")"
[ ! -e "$TMP/check/escaped-absolute" ] || fail "the absolute file path was written"
if [ "$etc_x_before" = 0 ] && [ -e /etc/x ]; then
  fail "/etc/x was written"
fi
# The accepted jobs' files are exactly what was submitted.
find "$state"/jobs/*/files -type f | sed "s|^$state/jobs/[^/]*/files/||" | sort -u > "$TMP/stored.txt"
grep -qvxE 'job\.yaml|second\.yaml|numbers\.txt|data/numbers\.txt|padding\.bin' "$TMP/stored.txt" &&
  fail "unexpected stored files: $(grep -vxE 'job\.yaml|second\.yaml|numbers\.txt|data/numbers\.txt|padding\.bin' "$TMP/stored.txt" | tr '\n' ' ')"
pass "no traversal target written anywhere; stored files are the submitted ones"
