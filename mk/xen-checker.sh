#!/usr/bin/env bash
# mk/xen-checker.sh - Xen's own migration stream checker (verify-stream-v2
# from Debian's xen-utils-4.17), unpacked under build/, never installed.
#
#   bash mk/xen-checker.sh [DIR]   print the command prefix that runs the
#                                  checker (exit 0), or say on stderr why it
#                                  cannot be had (exit 1)
#
# DIR defaults to $XEN_CHECKER_DIR, else build/xen-checker.  The package
# is fetched with `apt-get download` and unpacked with `dpkg -x` (nothing of
# it is installed, its dependencies are not needed: the checker is pure
# Python).
# If the first download fails and we are root, the package index is
# refreshed once and the download tried again.  Use it as:
#   run=$(bash mk/xen-checker.sh) && $run -v -i STREAM
set -u
cd "$(dirname "$0")/.."
dir=${1:-${XEN_CHECKER_DIR:-build/xen-checker}}
root=$dir/root
checker=$root/usr/lib/xen-4.17/bin/verify-stream-v2
pylib=$root/usr/lib/xen-4.17/lib/python
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)

say() { echo "xen-checker: $*" >&2; }

if [ ! -f "$checker" ]; then
    command -v apt-get >/dev/null || { say "no apt-get on this machine"; exit 1; }
    command -v dpkg >/dev/null || { say "no dpkg on this machine"; exit 1; }
    mkdir -p "$dir/deb"
    fetch() { (cd "$dir/deb" && apt-get download -q xen-utils-4.17) >"$dir/fetch.log" 2>&1; }
    if ! fetch; then
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -q >/dev/null 2>&1
            fetch || { say "apt-get download xen-utils-4.17 failed: $(tail -n 1 "$dir/fetch.log")"; exit 1; }
        else
            say "apt-get download xen-utils-4.17 failed: $(tail -n 1 "$dir/fetch.log")"
            exit 1
        fi
    fi
    deb=$(ls "$dir"/deb/xen-utils-4.17_*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || { say "no xen-utils-4.17 package downloaded"; exit 1; }
    rm -rf "$root.tmp"
    dpkg -x "$deb" "$root.tmp" || { say "dpkg -x $deb failed"; exit 1; }
    rm -rf "$root" && mv "$root.tmp" "$root"
    [ -f "$checker" ] || { say "package has no verify-stream-v2"; exit 1; }
fi
[ -n "$py" ] || { say "no python3"; exit 1; }
echo "env PYTHONPATH=$pylib $py $checker"
