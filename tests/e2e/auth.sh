# REST authentication (docs/security.md): a Dispatcher with a credentials
# file of alice and bob (submit), viewer (read), root (admin) and a token of
# ci (admin). tests/dispatcher/auth_check.py checks every REST operation of
# docs/openapi.yaml without, with wrong and with each role's credentials, the
# ownership of jobs and sessions, the Bearer and token= forms and the
# queued-jobs limit; then the CLI with TAILOR_USER/TAILOR_PASSWORD_FILE and
# TAILOR_TOKEN_FILE, `tailor auth`, a credentials file others may read (the
# Dispatcher refuses to start), and no password or token in any log, answer
# or record.
source "$(dirname "$0")/lib.sh" "$1"

PYTHON="$(bash "$ROOT/tests/find-python3" yaml jsonschema)" ||
  fail "no python3 with yaml and jsonschema (run scripts/install-deps)"

# --- the credentials, made with `tailor auth` --------------------------------
mkdir -p "$TMP/secrets" "$TMP/check"
declare -A password=([alice]="alice-Pw-7f3kQz" [bob]="bob-Pw-2mXq9L" [viewer]="viewer-Pw-J4t8Rw"
  [root]="root-Pw-Zn5vB1")
creds="$TMP/secrets/credentials"
{
  echo "# users and tokens of the test Dispatcher"
  for user in alice bob viewer root; do
    case "$user" in alice | bob) role=submit ;; viewer) role=read ;; root) role=admin ;; esac
    # root's with the default iterations (what operators get), the others cheaper.
    iterations=()
    [ "$user" = root ] || iterations=(--iterations 1000)
    verifier="$(printf '%s\n' "${password[$user]}" | "$BIN/tailor" auth hash-password "${iterations[@]}")"
    [[ "$verifier" == pbkdf2-sha256\$* ]] || fail "tailor auth hash-password printed: $verifier"
    echo "user $user $role $verifier"
  done
  echo
} > "$creds"
"$BIN/tailor" auth new-token > "$TMP/secrets/new-token"
[ "$(wc -l < "$TMP/secrets/new-token")" -eq 2 ] || fail "tailor auth new-token: $(cat "$TMP/secrets/new-token")"
token="$(sed -n 1p "$TMP/secrets/new-token")"
[[ "$token" =~ ^[A-Za-z0-9_-]{43}$ ]] || fail "the token is not 32 bytes of base64url: $token"
echo "token ci admin $(sed -n 2p "$TMP/secrets/new-token")" >> "$creds"
[ "$(sed -n 2p "$TMP/secrets/new-token")" = "sha256\$$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)" ] ||
  fail "the token's verifier is not sha256\$<hex of its SHA-256>"
pass "tailor auth hash-password and new-token wrote the credentials file"

# --- a file others may read: the Dispatcher does not start --------------------
chmod 640 "$creds"
if "$BIN/tailor-dispatcher" --port 0 --bind 127.0.0.1 --state-store "local:$TMP/refused-state" \
    --auth-file "$creds" > "$TMP/refused.out" 2>&1; then
  fail "the Dispatcher started with a group-readable credentials file"
fi
grep -q "credentials file '$creds' has mode 0640" "$TMP/refused.out" &&
  grep -q "chmod 600" "$TMP/refused.out" ||
  fail "the refusal does not name the file, its mode and chmod 600: $(cat "$TMP/refused.out")"
TAILOR_AUTH_FILE="$creds" "$BIN/tailor-dispatcher" --port 0 --bind 127.0.0.1 \
  --state-store "local:$TMP/refused-state" > "$TMP/refused-env.out" 2>&1 &&
  fail "the Dispatcher started with TAILOR_AUTH_FILE naming a group-readable file"
grep -q "has mode 0640" "$TMP/refused-env.out" || fail "TAILOR_AUTH_FILE: $(cat "$TMP/refused-env.out")"
pass "a group-readable credentials file (flag or TAILOR_AUTH_FILE) is refused, naming it, its mode and chmod 600"
chmod 600 "$creds"

# --- the Dispatcher with authentication ---------------------------------------
start_dispatcher auth --auth-file "$creds" --max-running-jobs 1 --max-queued-jobs-per-user 2
url="http://$DISPATCHER"
grep -q "REST authentication on: 5 users and tokens" "$TMP/auth.log" ||
  fail "the Dispatcher does not log that authentication is on"
pass "Dispatcher with --auth-file listening on $url"

secrets="$TMP/secrets/list"
for user in alice bob viewer root; do echo "$user ${password[$user]}"; done > "$secrets"
echo "token-root $token" >> "$secrets"
if ! "$PYTHON" "$ROOT/tests/dispatcher/auth_check.py" --spec "$ROOT/docs/openapi.yaml" \
    --url "$url" --work "$TMP/check" --secrets "$secrets" > "$TMP/check.log" 2>&1; then
  cat "$TMP/check.log"
  tail -30 "$TMP/auth.log" >&2
  fail "auth_check.py: $(tail -1 "$TMP/check.log")"
fi
cat "$TMP/check.log"
pass "auth_check.py: $(tail -1 "$TMP/check.log")"

# Open without credentials: /health, /ready, the UI and its redirect, the artifacts.
for path in /health /ready /ui/ /v1/artifacts/tailor-jobmanager; do
  code="$(curl -s -o /dev/null -w '%{http_code}' "$url$path")"
  [ "$code" = 200 ] || fail "GET $path without credentials: $code (expected 200)"
done
code="$(curl -s -o /dev/null -w '%{http_code}' "$url/")"
[ "$code" = 302 ] || [ "$code" = 301 ] || [ "$code" = 307 ] || [ "$code" = 308 ] ||
  fail "GET / without credentials: $code (expected a redirect to /ui/)"
pass "/health, /ready, /ui/, / and /v1/artifacts/ answer without credentials"

# --- the CLI -------------------------------------------------------------------
cat > "$TMP/job.yaml" <<'EOF'
name: cli-tiny
stages:
  - name: copy
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["in.txt"]}
    command: cat
EOF
printf 'x\ny\n' > "$TMP/in.txt"
printf '%s\n' "${password[bob]}" > "$TMP/secrets/bob-password"
if "$BIN/tailor" list > "$TMP/cli-none.out" 2>&1; then fail "tailor list without credentials succeeded"; fi
grep -q "TAILOR_USER" "$TMP/cli-none.out" || fail "no hint which variables to set: $(cat "$TMP/cli-none.out")"
grep -q "requires credentials" "$TMP/cli-none.out" || fail "not the server's message: $(cat "$TMP/cli-none.out")"
pass "tailor list without credentials: the server's message and which variables to set"

export TAILOR_USER=bob TAILOR_PASSWORD_FILE="$TMP/secrets/bob-password"
"$BIN/tailor" submit "$TMP/job.yaml" --wait > "$TMP/cli-submit.out" 2>&1 ||
  fail "tailor submit as bob: $(cat "$TMP/cli-submit.out")"
bob_job="$("$BIN/tailor" list -o json | jq -r '.jobs[] | select(.name == "cli-tiny") | .id')"
[ -n "$bob_job" ] || fail "bob's job is not in his list"
"$BIN/tailor" list > "$TMP/cli-list.out"
grep -q "OWNER" "$TMP/cli-list.out" && grep -q "$bob_job.* bob " "$TMP/cli-list.out" ||
  fail "tailor list does not show bob as the owner: $(cat "$TMP/cli-list.out")"
"$BIN/tailor" status "$bob_job" > "$TMP/cli-status.out"
grep -q "owner bob" "$TMP/cli-status.out" || fail "tailor status: $(cat "$TMP/cli-status.out")"
[ "$("$BIN/tailor" list -o json | jq '[.jobs[] | select(.owner != "bob")] | length')" = 0 ] ||
  fail "bob's list shows jobs of others"
pass "tailor submit, list and status as bob (TAILOR_USER + TAILOR_PASSWORD_FILE): owner bob, only his jobs"

if "$BIN/tailor" metrics > /dev/null 2>&1; then :; fi  # (no such command; keeps bob's env)
printf '%s\n' "wrong" > "$TMP/secrets/wrong"
if TAILOR_PASSWORD_FILE="$TMP/secrets/wrong" "$BIN/tailor" list > "$TMP/cli-wrong.out" 2>&1; then
  fail "tailor list with a wrong password succeeded"
fi
grep -q "credentials sent were refused" "$TMP/cli-wrong.out" || fail "$(cat "$TMP/cli-wrong.out")"
unset TAILOR_USER TAILOR_PASSWORD_FILE

printf '%s\n' "$token" > "$TMP/secrets/token"
TAILOR_TOKEN_FILE="$TMP/secrets/token" "$BIN/tailor" status "$bob_job" > /dev/null ||
  fail "tailor status with TAILOR_TOKEN_FILE (admin) failed"
printf '%s\n' "${password[viewer]}" > "$TMP/secrets/viewer-password"
if TAILOR_USER=viewer TAILOR_PASSWORD_FILE="$TMP/secrets/viewer-password" \
    "$BIN/tailor" cancel "$bob_job" > "$TMP/cli-forbidden.out" 2>&1; then
  fail "viewer could cancel"
fi
grep -q "FORBIDDEN\|may not POST" "$TMP/cli-forbidden.out" && grep -q "TAILOR_TOKEN" "$TMP/cli-forbidden.out" ||
  fail "the 403 does not say why and what to set: $(cat "$TMP/cli-forbidden.out")"
pass "wrong password refused, TAILOR_TOKEN_FILE reads as admin, a read user's cancel is 403 with a hint"

# --- no secret anywhere ------------------------------------------------------
# The Dispatcher's log and console, every answer the checks got, the state
# directory (records, JobManager logs and reports), the CLI's output.
found=""
for secret in "${password[@]}" "$token"; do
  if grep -rlF -- "$secret" "$TMP/auth.log" "$TMP/auth.out" "$TMP/check" "$TMP/auth-state" \
      "$TMP"/cli-*.out > "$TMP/found" 2>/dev/null; then
    found="$found ${secret:0:4}...: $(tr '\n' ' ' < "$TMP/found")"
  fi
done
[ -z "$found" ] || fail "a secret appears in:$found"
# The check itself can fail: the secrets file holds them all.
grep -qF -- "${password[alice]}" "$secrets" || fail "the grep cannot find what it looks for"
pass "no password or token in the Dispatcher's log, the answers, the records or the CLI's output"

# --- DC/OS IAM tokens ----------------------------------------------------------
# A Dispatcher with the IAM's public key and no credentials file: tokens the
# IAM signed (RS256 JWTs, made here with openssl) let their uid in as submit.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/secrets/iam.key" 2> /dev/null
openssl pkey -in "$TMP/secrets/iam.key" -pubout -out "$TMP/secrets/iam.pem" 2> /dev/null
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
jwt() {  # UID EXP: a token the IAM's key signed
  local head claims
  head="$(printf '%s' '{"alg":"RS256","typ":"JWT"}' | b64url)"
  claims="$(printf '{"uid":"%s","exp":%d}' "$1" "$2" | b64url)"
  printf '%s.%s.%s' "$head" "$claims" \
    "$(printf '%s.%s' "$head" "$claims" | openssl dgst -sha256 -sign "$TMP/secrets/iam.key" -binary | b64url)"
}
start_dispatcher iam --dcos-iam-public-key "$TMP/secrets/iam.pem"
grep -q "DC/OS IAM tokens (key .*iam.pem) as role submit" "$TMP/iam.log" || fail "the Dispatcher does not say it takes IAM tokens"
good="$(jwt dcos-carol $(($(date +%s) + 600)))"
status() { curl -s -o /dev/null -w '%{http_code}' "$@" "$TAILOR_DISPATCHER/v1/jobs"; }
[ "$(status)" = 401 ] || fail "no credentials were let in"
[ "$(status -H "Authorization: token=$good")" = 200 ] || fail "an IAM token was refused"
[ "$(status -H "Authorization: token=$(jwt dcos-carol $(($(date +%s) - 5)))")" = 401 ] || fail "an expired IAM token was let in"
forged="${good%%.*}.$(printf '{"uid":"root","exp":%d}' $(($(date +%s) + 600)) | b64url).${good##*.}"
[ "$(status -H "Authorization: token=$forged")" = 401 ] || fail "a token with changed claims was let in"
cat > "$TMP/iam-job.yaml" <<'YAML'
name: iam
stages:
  - name: one
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["iam-input.txt"]}
    command: cat
YAML
echo "from carol" > "$TMP/iam-input.txt"
TAILOR_TOKEN="$good" "$BIN/tailor" submit "$TMP/iam-job.yaml" > "$TMP/cli-iam.out" 2>&1 || fail "submit with an IAM token: $(cat "$TMP/cli-iam.out")"
iam_job="$(sed -n 's/^job \([^ ]*\) submitted.*/\1/p' "$TMP/cli-iam.out")"
[ "$(curl -s -H "Authorization: token=$good" "$TAILOR_DISPATCHER/v1/jobs/$iam_job" | jq -r .owner)" = dcos-carol ] ||
  fail "the job of an IAM user is not owned by its uid"
grep -qF -- "${good##*.}" "$TMP/iam.log" && fail "the IAM token is in the Dispatcher's log"
pass "DC/OS IAM tokens: the IAM's let in as their uid (submit), expired and altered ones refused, jobs owned by the uid"
