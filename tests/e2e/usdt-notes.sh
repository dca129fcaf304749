#!/usr/bin/env bash
# tests/e2e/usdt-notes.sh - the USDT probes as built (trace/usdt.h U1, U6).
#
#   1. Every probe of HV_USDT_PROBES is a stapsdt note of build/hvlab, with
#      a semaphore, and no note names a probe the list does not have.
#   2. Every probe is a row of docs/top.md's probe table, and the table has
#      no other row.
#   3. The notrace library the fuzz harnesses link has no probe at all.
set -u
. "$(dirname "$0")/lib/common.sh"
cd "$E2E_ROOT"
C1="usdt: every listed probe is a note of hvlab, with a semaphore, and no other"
C2="usdt: every listed probe is a row of docs/top.md's table, and no other"
C3="usdt: the notrace library has no probe"
if ! command -v readelf >/dev/null; then
    for c in "$C1" "$C2" "$C3"; do e2e_skip "$c" "readelf (binutils) is missing"; done
    exit 0
fi
listed=$(sed -n '/^#define HV_USDT_PROBES(X)/,/^$/p' trace/usdt.h |
         grep -o 'X([a-z_]*)' | sed 's/X(\(.*\))/\1/' | sort)
[ -n "$listed" ] || { e2e_notok "$C1" "no probe read from trace/usdt.h"; exit 0; }

if [ ! -x "$BUILD/hvlab" ]; then
    e2e_skip "$C1" "$BUILD/hvlab is not built"
else
    notes=$(readelf -n "$BUILD/hvlab" | awk '
        /Provider: hvlab/ { p = 1; next }
        p && /Name:/ { name = $2 }
        p && /Semaphore:/ { print name, $2; p = 0 }')
    names=$(awk '{ print $1 }' <<<"$notes" | sort -u)
    nosem=$(awk '$2 == "0x0000000000000000" { print $1 }' <<<"$notes")
    if [ "$names" = "$listed" ] && [ -z "$nosem" ]; then
        e2e_ok "$C1"
    else
        e2e_notok "$C1" "listed: $(echo $listed)" "notes: $(echo $names)" \
            "without a semaphore: $(echo $nosem)"
    fi
fi

rows=$(grep -o '^| `[a-z_]*` |' docs/top.md | sed 's/^| `\([a-z_]*\)` |/\1/' |
       sort)
if [ "$rows" = "$listed" ]; then
    e2e_ok "$C2"
else
    e2e_notok "$C2" "listed: $(echo $listed)" "docs/top.md: $(echo $rows)"
fi

lib="$BUILD/libhvlab-notrace.a"
if [ ! -f "$lib" ]; then
    e2e_skip "$C3" "$lib is not built"
elif readelf -n "$lib" 2>/dev/null | grep -q "Provider: hvlab"; then
    e2e_notok "$C3" "$(readelf -n "$lib" | grep -c 'Provider: hvlab') notes"
else
    e2e_ok "$C3"
fi
exit 0
