# The fake Mesos master on its own: starts build's fake-mesos on a free port
# with two agents, and checks /health, a JSON SUBSCRIBE stream whose first
# record is SUBSCRIBED (then offers from both agents), and /fake/state.
source "$(dirname "$0")/lib.sh" "$1"

"$BIN/fake-mesos" --port 0 --simulate-executors --allocation-interval 100ms \
  --agent cpus=4,mem=8192,disk=20000,ports=31000-31099 \
  --agent cpus=2,mem=4096,disk=10000,ports=32000-32099,attributes=rack:b \
  > "$TMP/fake.out" 2> "$TMP/fake.log" &
background_pids+=($!)
wait_for "fake-mesos listening on 127.0.0.1:" "$TMP/fake.out" 10
PORT="$(sed -n 's/^fake-mesos listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/fake.out")"
[ -n "$PORT" ] || fail "no port in: $(cat "$TMP/fake.out")"
URL="http://127.0.0.1:$PORT"

[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] || fail "/health is not 200"
pass "/health answers 200"

# SUBSCRIBE in JSON; the stream never ends, so read it for a moment.
curl -s -N --max-time 2 -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' \
  -D "$TMP/subscribe.head" -o "$TMP/subscribe.body" "$URL/api/v1/scheduler" \
  -d '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"e2e","name":"smoke","roles":["*"],"capabilities":[{"type":"MULTI_ROLE"}],"failover_timeout":60}}}' \
  || [ $? = 28 ] || fail "SUBSCRIBE failed"
grep -q "^HTTP/1.1 200" "$TMP/subscribe.head" || fail "SUBSCRIBE is not 200: $(head -1 "$TMP/subscribe.head")"
grep -qi "^Mesos-Stream-Id: " "$TMP/subscribe.head" || fail "no Mesos-Stream-Id header"
# RecordIO: "<length>\n<payload>"; the first payload is SUBSCRIBED.
LENGTH="$(head -n 1 "$TMP/subscribe.body")"
[[ "$LENGTH" =~ ^[0-9]+$ ]] || fail "not RecordIO: $(head -c 80 "$TMP/subscribe.body")"
tail -c +$((${#LENGTH} + 2)) "$TMP/subscribe.body" | head -c "$LENGTH" > "$TMP/first.json"
expect_json "$TMP/first.json" '.type == "SUBSCRIBED" and (.subscribed.framework_id.value | endswith("-0000"))' \
  "first record is SUBSCRIBED"
FRAMEWORK_ID="$(jq -r .subscribed.framework_id.value "$TMP/first.json")"
grep -q '"type":"HEARTBEAT"' "$TMP/subscribe.body" || fail "no HEARTBEAT after SUBSCRIBED"
grep -q '"path":"/slave(2)"' "$TMP/subscribe.body" || fail "no offer from the second agent"
pass "SUBSCRIBE streams SUBSCRIBED, HEARTBEAT and offers of both agents"

curl -s "$URL/fake/state" > "$TMP/state.json" || fail "/fake/state failed"
expect_json "$TMP/state.json" '.agents | length == 2' "two agents in /fake/state"
expect_json "$TMP/state.json" '.agents[1].resources.cpus == 2' "the second agent's resources"
expect_json "$TMP/state.json" \
  ".frameworks[0].id == \"$FRAMEWORK_ID\" and .frameworks[0].connected == false and .frameworks[0].torn_down == false" \
  "the framework is known, disconnected, within its failover timeout"
pass "/fake/state shows the agents and the framework"
