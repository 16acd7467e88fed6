# The release artefacts (docs/release.md), made by scripts/release from the
# release build in RELEASE_BUILD_DIR (built there first if it is not):
# - packaging that build twice gives the same bytes;
# - the tarball has the promised layout and metadata (one top directory,
#   owners 0/0, every time the commit's, gzip without name or time), and its
#   binaries carry no path of the build;
# - extracted into a fresh directory, its binaries load libraries only from its
#   lib/ or from a base Debian 12 system (packaging/release/system-libraries.txt),
#   and it runs the wordcount example from another working directory, correctly;
# - the .deb holds the binaries in /usr/bin with the system's libraries as
#   dependencies; as root (or with passwordless sudo) it installs with dpkg -i,
#   `tailor --version` prints the version, and dpkg -r removes it.
# usage: bash release.sh BIN_DIR RELEASE_BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
release_build="${2:?usage: release.sh BIN_DIR RELEASE_BUILD_DIR}"
mkdir -p "$release_build"
release_build="$(cd "$release_build" && pwd)"

version="$(project_version)"
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct)}"
tarball="tailor-$version-linux-$(uname -m).tar.gz"
deb="tailor_${version}_$(dpkg --print-architecture).deb"
binaries=(tailor tailor-dispatcher tailor-jobmanager tailor-taskmanager)

# --- Packaging twice from one build ------------------------------------------
for out in out again; do
  "$ROOT/scripts/release" --build-dir "$release_build" --out "$TMP/$out" > "$TMP/release-$out.log" 2>&1 ||
    { tail -40 "$TMP/release-$out.log"; fail "scripts/release failed"; }
done
for file in "$tarball" "$deb" SHA256SUMS; do
  [ -f "$TMP/out/$file" ] || fail "scripts/release wrote no $file"
  cmp -s "$TMP/out/$file" "$TMP/again/$file" || fail "$file differs between two packagings of one build"
done
(cd "$TMP/out" && sha256sum --check --quiet SHA256SUMS) || fail "SHA256SUMS does not match the artefacts"
pass "two packagings of one build are identical: $tarball $(stat -c %s "$TMP/out/$tarball") bytes, $deb $(stat -c %s "$TMP/out/$deb") bytes"

# --- The tarball's metadata ---------------------------------------------------
stamp="$(TZ=UTC date -d "@$epoch" '+%F %T')"
TZ=UTC tar --list --verbose --numeric-owner --full-time --gzip --file "$TMP/out/$tarball" |
  awk -v top="tailor-$version/" -v stamp="$stamp" '
    index($6, top) != 1 { print "outside " top ": " $0; bad = 1 }
    $2 != "0/0" { print "owner not 0/0: " $0; bad = 1 }
    $4 " " $5 != stamp { print "time not " stamp ": " $0; bad = 1 }
    END { exit bad }' || fail "tarball entries: one top directory, owner 0/0, time of the commit"
header="$(od -A n -t x1 -N 8 "$TMP/out/$tarball" | tr -d ' ')"
[ "$header" = "1f8b080000000000" ] || fail "gzip header carries a file name or a time: $header"
ar tv "$TMP/out/$deb" | awk '$2 != "0/0" { exit 1 }' || fail ".deb members not owned by 0/0"
pass "tarball entries under tailor-$version/, owned 0/0, dated $stamp UTC; gzip and .deb headers without names or times"

# --- The tarball's layout -----------------------------------------------------
unpacked="$TMP/unpacked"
mkdir -p "$unpacked"
tar -xzf "$TMP/out/$tarball" -C "$unpacked"
top="$unpacked/tailor-$version"
for binary in "${binaries[@]}"; do
  [ -x "$top/bin/$binary" ] || fail "no bin/$binary"
done
for library in libprotobuf libcurl libspdlog libfmt libyaml-cpp libboost_program_options; do
  compgen -G "$top/lib/$library.so.*" > /dev/null || fail "lib/ has no $library"
done
[ -f "$top/README.md" ] || fail "no README.md"
[ "$(cat "$top"/examples/wordcount/data/*.txt | wc -c)" -gt 1000000 ] || fail "no input for the wordcount example"
# examples/, docs/ and packaging/ as the repository has them.
if git -C "$ROOT" rev-parse --git-dir > /dev/null 2>&1; then
  files=0
  while read -r mode _ _ path; do
    cmp -s "$ROOT/$path" "$top/$path" || fail "$path missing or different in the tarball"
    if [ "$mode" = 100755 ] && [ ! -x "$top/$path" ]; then fail "$path lost its execute bit"; fi
    files=$((files + 1))
  done < <(git -C "$ROOT" ls-files --stage -- examples docs packaging)
  pass "bin/, lib/, README.md and the repository's $files files of examples/, docs/ and packaging/ are in the tarball"
fi

# --- No build path in the binaries --------------------------------------------
# Neither in the shipped ones nor in the build's, whose debug information the
# packages strip (the release preset maps paths out of it).
build_bin="$(sed -n 's/^TAILOR_BIN_DIR:PATH=//p' "$release_build/CMakeCache.txt")"
for binary in "${binaries[@]}"; do
  for file in "$top/bin/$binary" "$build_bin/$binary"; do
    for path in "$release_build" "$ROOT"; do
      if grep -a -q -F "$path" "$file"; then fail "$file contains the build path $path"; fi
    done
  done
done
pass "no binary, shipped or in $build_bin with its debug information, contains $ROOT or $release_build"

# --- Libraries: bundled or from a base Debian 12 system -----------------------
mapfile -t system_globs < <(grep -v -e '^#' -e '^$' "$ROOT/packaging/release/system-libraries.txt")
is_system_library() {
  local glob
  for glob in "${system_globs[@]}"; do
    # shellcheck disable=SC2053
    if [[ "$1" == $glob ]]; then return 0; fi
  done
  return 1
}
: > "$TMP/system-libraries"
: > "$TMP/bundled-used"
for binary in "${binaries[@]}"; do
  readelf -d "$top/bin/$binary" | grep -q 'RPATH.*\[\$ORIGIN/../lib\]' || fail "bin/$binary has no RPATH \$ORIGIN/../lib"
  if readelf -d "$top/bin/$binary" | grep -q RUNPATH; then fail "bin/$binary has a RUNPATH"; fi
  env -u LD_LIBRARY_PATH ldd "$top/bin/$binary" > "$TMP/ldd-$binary" || fail "ldd bin/$binary failed"
  while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue
    [ "$path" != "not" ] || fail "bin/$binary: $name not found"
    case "$path" in
      "$ROOT"/* | "$release_build"/*) fail "bin/$binary loads $name from the build tree: $path" ;;
      "$top/bin/../lib/"*) basename "$path" >> "$TMP/bundled-used" ;;
      *) is_system_library "$name" ||
           fail "bin/$binary loads $name from $path: bundle it or add it to system-libraries.txt"
         echo "$path" >> "$TMP/system-libraries" ;;
    esac
  done < "$TMP/ldd-$binary"
done
for file in "$top"/lib/*; do
  name="$(basename "$file")"
  grep -q -x -F "$name" "$TMP/bundled-used" || find "$top/lib" -lname "$name" | grep -q . ||
    fail "lib/$name is bundled but no binary loads it"
done
pass "$(sort -u "$TMP/bundled-used" | wc -l) libraries load from lib/, $(sort -u "$TMP/system-libraries" | wc -l) from the base system, none from the build"

# When apt's package lists are here: every library taken from the system
# belongs to a package of a base Debian 12 system (Essential or Priority
# required, and their dependencies; alternatives count as dependencies).
required="$(apt-cache dumpavail 2>/dev/null |
  awk 'BEGIN { RS = "" } /\nPriority: required/ || /\nEssential: yes/ { split($0, f, "\n"); sub(/^Package: /, "", f[1]); print f[1] }' |
  sort -u)"
if [ -z "$required" ]; then
  echo "SKIP: no apt package lists (apt-get update): the system libraries' packages are not checked"
else
  # shellcheck disable=SC2086
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances $required 2>/dev/null | grep -v -e '^ ' -e '^<' | sort -u > "$TMP/base-packages"
  while read -r path; do
    package="$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null)" ||
      fail "no package owns $path"
    package="${package%%:*}"
    grep -q -x -F "$package" "$TMP/base-packages" ||
      fail "$path comes from $package, which a base Debian 12 system lacks: bundle it"
  done < <(sort -u "$TMP/system-libraries")
  pass "the system libraries come from packages of a base Debian 12 system ($(wc -l < "$TMP/base-packages") packages)"
fi

# --- The tarball runs the example from anywhere --------------------------------
for binary in "${binaries[@]}"; do
  got="$("$top/bin/$binary" --version)" || fail "bin/$binary --version failed"
  [ "$got" = "$binary $version" ] || fail "bin/$binary --version printed '$got'"
done
mkdir "$TMP/elsewhere"
(cd "$TMP/elsewhere" && env -u LD_LIBRARY_PATH PATH=/usr/bin:/bin TMPDIR="$TMP" \
  "$top/bin/tailor" run "$top/examples/wordcount/job.yaml" --local-resources cpus=2,mem=4096 \
  --report "$TMP/example-report.json" > "$TMP/example.log" 2>&1) ||
  { cat "$TMP/example.log"; fail "the tarball's wordcount example failed"; }
output="$TMP/elsewhere/tailor-output/wordcount/part-00000"
[ -f "$output" ] || fail "no $output"
independent_counts "$top"/examples/wordcount/data/*.txt | sort -k2,2nr -k1,1 > "$TMP/counts"
head -n 100 "$TMP/counts" > "$TMP/want"
cmp -s "$output" "$TMP/want" || { diff "$output" "$TMP/want" | head; fail "the example's top 100 words differ"; }
expect_json "$TMP/example-report.json" '.job.status == "FINISHED"' "the example FINISHED"
pass "the extracted tarball ran the wordcount example from another directory: top 100 words correct"

# --- The .deb -----------------------------------------------------------------
field() { dpkg-deb --field "$TMP/out/$deb" "$1"; }
[ "$(field Package)" = tailor ] || fail ".deb Package is '$(field Package)'"
[ "$(field Version)" = "$version" ] || fail ".deb Version is '$(field Version)'"
[ -n "$(field Maintainer)" ] && [ -n "$(field Description)" ] || fail ".deb has no Maintainer or Description"
for package in libc6 libstdc++6 libprotobuf libcurl4 libspdlog libfmt libyaml-cpp libboost-program-options; do
  field Depends | grep -q "\\b$package" || fail ".deb Depends lacks $package: $(field Depends)"
done
dpkg-deb --contents "$TMP/out/$deb" | awk '{ print $6 }' | grep -v '/$' | sort > "$TMP/deb-files"
{ printf './usr/bin/%s\n' "${binaries[@]}"; echo ./usr/share/doc/tailor/README.md; } | sort | cmp -s - "$TMP/deb-files" ||
  { cat "$TMP/deb-files"; fail ".deb holds other files than the binaries and the README"; }
pass ".deb $version: the four binaries in /usr/bin, Depends: $(field Depends | tr -d '\n')"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo -n)
fi
if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
  echo "SKIP: dpkg -i of the .deb needs root or passwordless sudo"
elif dpkg-query -W -f='${Status}' tailor 2>/dev/null | grep -q "ok installed"; then
  echo "SKIP: a tailor package is installed on this machine already; not replacing it"
else
  trap '"${sudo[@]}" dpkg -r tailor > /dev/null 2>&1 || true; cleanup' EXIT
  "${sudo[@]}" dpkg -i "$TMP/out/$deb" > "$TMP/dpkg.log" 2>&1 || { cat "$TMP/dpkg.log"; fail "dpkg -i failed"; }
  got="$(/usr/bin/tailor --version)" || fail "/usr/bin/tailor --version failed"
  [ "$got" = "tailor $version" ] || fail "/usr/bin/tailor --version printed '$got'"
  if readelf -d /usr/bin/tailor | grep -q -e RPATH -e RUNPATH; then fail "/usr/bin/tailor has an RPATH"; fi
  /usr/bin/tailor-dispatcher --help > /dev/null || fail "/usr/bin/tailor-dispatcher --help failed"
  "${sudo[@]}" dpkg -r tailor > "$TMP/dpkg.log" 2>&1 || { cat "$TMP/dpkg.log"; fail "dpkg -r failed"; }
  [ ! -e /usr/bin/tailor ] || fail "/usr/bin/tailor is still there after dpkg -r"
  trap cleanup EXIT
  pass "dpkg -i installed the .deb, /usr/bin/tailor --version printed '$got', dpkg -r removed it"
fi
