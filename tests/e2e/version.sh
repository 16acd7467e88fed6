# `--version` prints "<binary> <version>" with the version of project() in
# CMakeLists.txt, for every binary that has the flag.
source "$(dirname "$0")/lib.sh" "$1"

version="$(project_version)"
[ -n "$version" ] || fail "no version in $ROOT/CMakeLists.txt"
for binary in tailor tailor-dispatcher tailor-jobmanager tailor-taskmanager; do
  got="$("$BIN/$binary" --version)" || fail "$binary --version exited $?"
  [ "$got" = "$binary $version" ] || fail "$binary --version printed '$got', expected '$binary $version'"
done
pass "tailor, tailor-dispatcher, tailor-jobmanager and tailor-taskmanager --version print $version"
