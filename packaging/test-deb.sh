#!/usr/bin/env bash
# Builds the Debian package of BUILD_DIR with `cpack -G DEB`, installs it with `dpkg -i` into a
# private root (its own dpkg database: the machine's packages are not touched), and checks that
# the installed `rsm --help` runs and the man page, config and units are in place.
#   packaging/test-deb.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
mkdir -p "${TMPDIR:-/tmp}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && cpack --config "$build/CPackConfig.cmake" -G DEB >cpack.log 2>&1) || {
  cat "$work/cpack.log" >&2
  exit 1
}
deb=$(ls "$work"/rsm_*.deb)
echo "test-deb: built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
# The private database knows none of the machine's libraries: dependencies are checked by the
# loader below instead (ldd), against the machine's real ones.
dpkg --root="$root" --force-depends --force-script-chrootless -i "$deb" >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  exit 1
}
dpkg --root="$root" -s rsm | grep -q '^Status: install ok installed$'

fail() { echo "test-deb: $*" >&2; exit 1; }
for f in usr/bin/rsm usr/share/man/man1/rsm.1.gz etc/rsm/rsm.ini \
         usr/lib/systemd/system/rsm-proxy.service usr/lib/systemd/system/rsm-ctl.service; do
  [ -e "$root/$f" ] || fail "/$f missing from the package"
done
grep -qx '/etc/rsm/rsm.ini' "$root/var/lib/dpkg/info/rsm.conffiles" || fail "/etc/rsm/rsm.ini is not a conffile"
libs=$(ldd "$root/usr/bin/rsm")
if grep -q 'not found' <<<"$libs"; then
  fail "libraries missing: $libs"
fi
# Whole outputs first, then grep: `rsm ... | grep -q` could end rsm with SIGPIPE (pipefail).
help=$("$root/usr/bin/rsm" --help) || fail "rsm --help failed"
grep -q '^Usage: rsm <command>' <<<"$help" || fail "unexpected rsm --help: $help"
proxy_help=$("$root/usr/bin/rsm" proxy --help) || fail "rsm proxy --help failed"
grep -q -- '--listen' <<<"$proxy_help" || fail "rsm proxy --help lacks --listen"
man_page=$(zcat "$root/usr/share/man/man1/rsm.1.gz") || fail "the man page does not unpack"
grep -q '^\.TH RSM 1' <<<"$man_page" || fail "the man page has no .TH header"
echo "test-deb: dpkg -i into a private root works; rsm --help runs from it"
