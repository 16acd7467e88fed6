# Placement diagnostics (docs/observability.md): a job submitted through the
# Dispatcher, its JobManager on the fake Mesos (agents of 1, 2 and 4 CPUs and
# 1, 4 and 8 GiB), whose stage `big` asks 16 GiB per task: its status says the
# stage waits because no offer fits, memory being short by what the closest
# agent lacks (the task and the executor's 32 MiB, less the 8192 MiB of the
# 4-CPU agent: 8224 MiB); the stage behind it waits for its input `big`; the
# JSON matches docs/openapi.yaml; `tailor status` prints a line per waiting
# stage; a cancel ends the job and nothing waits any more. The same job in a
# session (its JobManager on the fake Mesos too) reports the same diagnostic.
source "$(dirname "$0")/lib.sh" "$1"
PYTHON="$(bash "$ROOT/tests/find-python3" yaml jsonschema)" ||
  fail "python3 with PyYAML and jsonschema is needed (Debian: python3-yaml python3-jsonschema)"

start_fake fake
start_dispatcher d --jobmanager-arg "--mesos-master $FAKE_ADDR --placement-timeout 120s"

seq 1 100 > "$TMP/numbers.txt"
cat > "$TMP/toobig.yaml" <<YAML
name: toobig
stages:
  - name: big
    parallelism: 2
    resources: {cpus: 1, mem: 16384}
    input: {files: ["numbers.txt"]}
    command: cat
  - name: after
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    inputs:
      - {stage: big, partitioning: hash}
    command: cat
YAML
"$BIN/tailor" submit "$TMP/toobig.yaml" > "$TMP/submit.log" || fail "submit"
id="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit.log")"
[ -n "$id" ] || fail "no job id in: $(cat "$TMP/submit.log")"
url="$TAILOR_DISPATCHER/v1/jobs/$id"

# The DAG's edges are known from the submission on.
expect_json <(curl -s "$url") '[.stages[] | {name, inputs}] == [{"name": "big", "inputs": []}, {"name": "after", "inputs": ["big"]}]' \
  "the stages' inputs"

wait_json "$url" '.stages[0].waiting.reason == "no_fit"' 60 "stage big waits for lack of a fitting offer"
curl -s "$url" > "$TMP/job.json"
expect_json "$TMP/job.json" '.state == "RUNNING"' "the job runs while it waits"
expect_json "$TMP/job.json" '.stages[0].waiting | .short_resource == "mem" and .short_amount == 8224 and .tasks == 2' \
  "mem short by 8224 MiB for 2 tasks"
expect_json "$TMP/job.json" '.stages[0].waiting | .profile.cpus == 1 and .profile.mem == 16384' "the profile each task asks"
expect_json "$TMP/job.json" '.stages[0].waiting.best_offer | test("^the best offer \\(agent .*: cpus 4, mem 8192 MiB, disk 20000 MiB\\)$")' \
  "the best offer is the 4-CPU agent"
expect_json "$TMP/job.json" '.stages[0].waiting.message | startswith("no offer fits: mem short by 8224 MiB on the best offer (agent ")' \
  "the reason in words"
expect_json "$TMP/job.json" '.stages[1].waiting | .reason == "inputs" and .tasks == 1 and .message == "waits for stage \"big\""' \
  "stage after waits for its input"
pass "REST: big waits (no_fit, mem short by 8224 MiB on the 4-CPU agent's offer), after waits for its input big"

"$PYTHON" - "$ROOT/docs/openapi.yaml" "$TMP/job.json" <<'PY' || fail "the job's JSON does not match docs/openapi.yaml"
import json, sys
import jsonschema, yaml
doc = yaml.safe_load(open(sys.argv[1]))
def resolve(node):
    if isinstance(node, dict):
        if "$ref" in node:
            target = doc
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            return resolve(target)
        return {k: resolve(v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v) for v in node]
    return node
schema = resolve(doc["components"]["schemas"]["StageStatus"])
for stage in json.load(open(sys.argv[2]))["stages"]:
    jsonschema.Draft4Validator(schema).validate(stage)
PY
pass "the waiting job's stages match StageStatus in docs/openapi.yaml"

"$BIN/tailor" status "$id" > "$TMP/status.txt" || fail "tailor status"
grep -q '^waiting:$' "$TMP/status.txt" || { cat "$TMP/status.txt"; fail "no waiting section in tailor status"; }
grep -q '^  big: 2 tasks wait: no offer fits: mem short by 8224 MiB on the best offer (agent .*: cpus 4, mem 8192 MiB, disk 20000 MiB)$' \
  "$TMP/status.txt" || { cat "$TMP/status.txt"; fail "tailor status does not say why big waits"; }
grep -q '^  after: 1 task waits: waits for stage "big"$' "$TMP/status.txt" ||
  { cat "$TMP/status.txt"; fail "tailor status does not say why after waits"; }
pass "tailor status: a line per waiting stage"

"$BIN/tailor" cancel "$id" > /dev/null || fail "cancel"
wait_job_state "$id" CANCELED 30
expect_json <(curl -s "$url") '[.stages[] | select(.waiting)] | length == 0' "nothing waits once the job ended"
"$BIN/tailor" status "$id" > "$TMP/status-end.txt"
if grep -q '^waiting:' "$TMP/status-end.txt"; then cat "$TMP/status-end.txt"; fail "an ended job still shows waiting stages"; fi
pass "cancelled: nothing waits any more"

# A session's job reports why it waits the same way.
"$BIN/tailor" session start diag --idle-timeout 60s > "$TMP/session.out" ||
  fail "session start: $(cat "$TMP/session.out")"
wait_json "$TAILOR_DISPATCHER/v1/sessions/diag" '.state == "SESSION_RUNNING"' 60 "the session runs"
"$BIN/tailor" submit --session diag "$TMP/toobig.yaml" > "$TMP/submit-session.log" || fail "submit to the session"
sid="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/submit-session.log")"
[ -n "$sid" ] || fail "no job id in: $(cat "$TMP/submit-session.log")"
wait_json "$TAILOR_DISPATCHER/v1/jobs/$sid" \
  '.stages[0].waiting | .reason == "no_fit" and .short_resource == "mem" and .short_amount == 8224' 60 \
  "the session's job: big waits, mem short by 8224 MiB"
expect_json <(curl -s "$TAILOR_DISPATCHER/v1/jobs/$sid") '.stages[1].waiting.reason == "inputs"' \
  "the session's job: after waits for its input"
"$BIN/tailor" session stop diag > /dev/null || fail "session stop"
wait_json "$TAILOR_DISPATCHER/v1/sessions/diag" '.state == "SESSION_STOPPED"' 60 "the session stopped"
pass "session: its job's stages say why they wait"
