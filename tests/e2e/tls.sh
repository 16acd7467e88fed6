# TLS on every hop (docs/security.md, "TLS"): a private authority and one
# certificate for Tailor's processes (openssl), a Dispatcher with --tls-cert,
# --tls-key, --tls-ca and --tls-mutual, its JobManagers on the fake Mesos
# (whose fetcher trusts the authority, as an agent whose machine has it
# installed). Then:
#  - a key file others may read, half a pair, or a file that is no PEM stop
#    the Dispatcher at once, naming the flag and the file;
#  - the wordcount through `tailor submit --wait` over https finishes with
#    the right output: CLI -> Dispatcher, Dispatcher <-> JobManager,
#    JobManager <-> TaskManagers, TaskManager -> TaskManager (partitions),
#    the fetcher's downloads from the Dispatcher; every one of them is TLS,
#    since each process refuses plain HTTP;
#  - while a job runs: plain HTTP to the Dispatcher, the JobManager and a
#    TaskManager gets 400 "speaks HTTPS only" and nothing else; without a
#    client certificate, or with one of another authority, the JobManager
#    and TaskManager refuse the handshake (mutual TLS); with Tailor's they
#    answer (and still want the job's secret for RPC);
#  - the private key's text, and the Mesos principal's secret the Dispatcher
#    authenticates with, are in no log, record, report, REST answer or
#    command line.
source "$(dirname "$0")/lib.sh" "$1"
command -v openssl > /dev/null || fail "openssl is not installed (scripts/install-deps installs it)"

pki="$TMP/pki"
mkdir -m 700 "$pki"
# make_cert NAME CA_NAME: an EC key and a certificate signed by CA_NAME, for
# 127.0.0.1 and localhost, good for servers and clients.
make_authority() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$pki/$1.key" -out "$pki/$1.pem" 2> /dev/null
}
make_cert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2> /dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
    > "$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.pem" -CAkey "$pki/$2.key" -CAcreateserial \
    -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.pem" 2> /dev/null
  chmod 600 "$pki/$1.key"
}
make_authority ca
make_cert tailor ca
make_authority other-ca
make_cert stranger other-ca
tls=(--tls-cert "$pki/tailor.pem" --tls-key "$pki/tailor.key" --tls-ca "$pki/ca.pem")

# Bad settings stop the Dispatcher before it listens.
expect_refused() {
  local what="$1" want="$2"
  shift 2
  if "$BIN/tailor-dispatcher" --port 0 --bind 127.0.0.1 --state-store "local:$TMP/bad" "$@" \
    > "$TMP/bad.out" 2> "$TMP/bad.err"; then
    fail "the Dispatcher started with $what"
  fi
  grep -qF -- "$want" "$TMP/bad.err" || { cat "$TMP/bad.err"; fail "$what: no '$want' in the error"; }
}
cp "$pki/tailor.key" "$pki/open.key"
chmod 644 "$pki/open.key"
expect_refused "a key others may read" "chmod 600 '$pki/open.key'" \
  --tls-cert "$pki/tailor.pem" --tls-key "$pki/open.key"
expect_refused "a certificate without its key" "--tls-cert and --tls-key go together" \
  --tls-cert "$pki/tailor.pem"
expect_refused "mutual TLS without an authority" "--tls-mutual needs" \
  --tls-cert "$pki/tailor.pem" --tls-key "$pki/tailor.key" --tls-mutual
expect_refused "a certificate that is no PEM" "is not a PEM file" \
  --tls-cert "$pki/tailor.ext" --tls-key "$pki/tailor.key"
pass "bad TLS settings refused at start, naming the flag and the file"

# The fake Mesos starts without TLS in its environment (its executors inherit
# it, as a real agent's do): the JobManager and TaskManagers get their TLS
# settings from the Mesos tasks the Dispatcher and the JobManager launch.
start_fake fake --fetcher-ca "$pki/ca.pem"
export TAILOR_TLS_CA="$pki/ca.pem"  # the CLI's trust (and the Dispatcher's --tls-ca)
# The Mesos principal's secret too, to look for it afterwards.
mesos_secret="mesos-$RANDOM$RANDOM-principal-secret"
(umask 077 && echo "$mesos_secret" > "$pki/mesos.secret")
start_dispatcher d --launcher mesos --mesos-master "$FAKE_ADDR" --mesos-refuse 1s \
  --jobmanager-resources cpus=0.2,mem=256 "${tls[@]}" --tls-mutual \
  --mesos-principal tailor --mesos-secret-file "$pki/mesos.secret"
[ "$TAILOR_DISPATCHER" = "https://$DISPATCHER" ] || fail "start_dispatcher did not take https"
grep -q "TLS on every hop" "$TMP/d.log" || fail "the Dispatcher does not say TLS is on"

submit_example_wordcount "with TLS on every hop"
id="$SUBMITTED_ID"
jm_log="$(find "$TMP/fake-agents" -name jobmanager.log -path "*$id*" | head -n 1)"
if [ -z "$jm_log" ]; then jm_log="$(grep -rl "TLS on: serving with" "$TMP/fake-agents" | head -n 1 || true)"; fi
[ -n "$jm_log" ] || fail "no JobManager log saying TLS is on"
grep -q "TLS on: serving with $pki/tailor.pem; clients must present a certificate" "$jm_log" ||
  fail "the JobManager does not serve TLS with mutual authentication"
pass "wordcount through the Dispatcher with TLS on every hop: FINISHED, right output"

# A running job, to knock on each process's door.
seq 1 1000 > "$TMP/numbers.txt"
submit_slow_job slow
curl_tls=(--cacert "$pki/ca.pem")
curl -sf "${curl_tls[@]}" "$TAILOR_DISPATCHER/v1/metrics/targets" > "$TMP/targets.json" ||
  fail "no targets over https"
jm="$(jq -r "[.[] | select(.labels.role == \"jobmanager\" and .labels.job_id == \"$SLOW_ID\")][0].targets[0]" "$TMP/targets.json")"
tm="$(jq -r "[.[] | select(.labels.role == \"taskmanager\" and .labels.job_id == \"$SLOW_ID\")][0].targets[0]" "$TMP/targets.json")"
[ "$jm" != null ] && [ "$tm" != null ] || { cat "$TMP/targets.json"; fail "no JobManager or TaskManager target"; }

# Plain HTTP: 400 that says to use https, and nothing of the service.
for target in "$DISPATCHER/v1/jobs" "$jm/metrics" "$tm/metrics"; do
  code="$(curl -s -o "$TMP/plain.body" -w '%{http_code}' "http://$target" || true)"
  [ "$code" = 400 ] || fail "plain HTTP to $target answered $code"
  grep -q "speaks HTTPS only" "$TMP/plain.body" || fail "plain HTTP to $target: $(cat "$TMP/plain.body")"
done
pass "plain HTTP refused by the Dispatcher, the JobManager and a TaskManager"

# Mutual TLS: the JobManager and TaskManager want a certificate of the authority.
client=(--cert "$pki/tailor.pem" --key "$pki/tailor.key")
stranger=(--cert "$pki/stranger.pem" --key "$pki/stranger.key")
for door in "$jm /rpc/JobManager/LocateTask" "$tm /rpc/TaskManager/ReadTaskLog"; do
  read -r target rpc <<< "$door"
  if curl -s "${curl_tls[@]}" -o /dev/null "https://$target/metrics"; then
    fail "$target answered a client without a certificate"
  fi
  if curl -s "${curl_tls[@]}" "${stranger[@]}" -o /dev/null "https://$target/metrics"; then
    fail "$target answered a certificate of another authority"
  fi
  code="$(curl -s "${curl_tls[@]}" "${client[@]}" -o "$TMP/metrics.txt" -w '%{http_code}' "https://$target/metrics")"
  [ "$code" = 200 ] && grep -q '^tailor_' "$TMP/metrics.txt" || fail "$target with Tailor's certificate: $code"
  code="$(curl -s "${curl_tls[@]}" "${client[@]}" -o /dev/null -w '%{http_code}' -X POST \
    "https://$target$rpc" || true)"
  [ "$code" = 401 ] || fail "$target took an RPC without the job's secret ($code)"
done
# The Dispatcher asks no certificate of REST clients.
curl -sf "${curl_tls[@]}" "$TAILOR_DISPATCHER/v1/jobs" > /dev/null || fail "REST over https without a client certificate"
pass "mutual TLS: JobManager and TaskManager refuse clients without a certificate of the authority"

"$BIN/tailor" cancel "$SLOW_ID" > /dev/null || fail "cancel over https"
wait_job_state "$SLOW_ID" CANCELED 30

# The private key's text and the Mesos secret are nowhere but in their files.
key_line="$(sed -n 2p "$pki/tailor.key")"
[ -n "$key_line" ] || fail "no key text"
"$BIN/tailor" status "$id" -o json > "$TMP/answers.json"
"$BIN/tailor" report "$id" >> "$TMP/answers.json"
"$BIN/tailor" list >> "$TMP/answers.json"
leaks="$(grep -rlF --exclude-dir=pki -e "$key_line" -e "$mesos_secret" "$TMP" || true)"
[ -z "$leaks" ] || fail "the TLS key's text or the Mesos secret found in: $leaks"
ps -eo args | grep -F -e "$mesos_secret" -e "$key_line" | grep -v grep && fail "a secret on a command line"
pass "the TLS key and the Mesos principal's secret are in no log, record, report, answer or command line"
