#!/usr/bin/env bash
# tests/scenario/xl-stream-verify.sh - hvlab's xl streams (toolstack/xl_stream.h:
# xl's header, libxl's stream v2, the libxc stream inside) against Xen's own
# checker, `verify-stream-v2 -f xl` (mk/xen-checker.sh).
#
#   1. test-xl-stream --write: headers with a config, LIBXC_CONTEXT and a
#      small PV libxc stream, EMULATOR_CONTEXT, END; hvlab's reader and the
#      checker accept it.
#   2. The same wrapping around test-stream's full PV sample (every PV
#      record kind): both accept it.
#   3. A corrupted libxl record (unknown type): both reject it.
# One line per case: "ok - NAME" / "not ok - NAME" / "skip - NAME: WHY".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
X=$BUILD/tests/unit/test-xl-stream
S=$BUILD/tests/unit/test-stream
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

if [ ! -x "$X" ]; then
    echo "skip - xl-stream-verify: $X is not built"
    exit 0
fi
ok()    { echo "ok - $1"; }
notok() { echo "not ok - $1"; shift; [ $# -gt 0 ] && sed 's/^/    /' <<<"$*" | tail -n 20; }

names=(own)
"$X" --write "$work/own.xl" >/dev/null || notok "write the xl stream"
if [ -x "$S" ] && "$S" --write pv "$work/pv.libxc" >/dev/null; then
    "$X" --write "$work/sample.xl" "$work/pv.libxc" >/dev/null || notok "write the xl stream around test-stream's PV sample"
    names+=(sample)
else
    echo "skip - the xl stream around test-stream's PV sample: $S is not built"
fi
# Corrupt: the first libxl record after the headers (offset 0x5a with the
# tool's 21-byte config and xl's NUL) gets type 6, which libxl does not have.
cp "$work/own.xl" "$work/bad.xl"
printf '\x06' | dd of="$work/bad.xl" bs=1 seek=$((0x5a)) conv=notrunc status=none

for n in "${names[@]}"; do
    out=$("$X" --read "$work/$n.xl" 2>&1)
    if [ $? -eq 0 ]; then ok "hvlab's reader accepts the $n xl stream"
    else notok "hvlab's reader accepts the $n xl stream" "$out"; fi
done
out=$("$X" --read "$work/bad.xl" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q 'unknown record type' <<<"$out"; then
    ok "hvlab's reader rejects an unknown libxl record ($(sed 's/^rejected: //' <<<"$out" | cut -c1-80))"
else
    notok "hvlab's reader rejects an unknown libxl record" "$out"
fi

if run=$(bash mk/xen-checker.sh 2>"$work/why"); then
    for n in "${names[@]}"; do
        out=$($run -f xl -v -i "$work/$n.xl" 2>&1); rc=$?
        if [ $rc -eq 0 ] && grep -q 'Libxc Record: End' <<<"$out" &&
           grep -q 'Libxl Record: Emulator context' <<<"$out" &&
           grep -q 'Libxl Record: End' <<<"$out"; then
            ok "verify-stream-v2 -f xl accepts the $n xl stream"
        else
            notok "verify-stream-v2 -f xl accepts the $n xl stream (exit $rc)" "$out"
        fi
    done
    out=$($run -f xl -v -i "$work/bad.xl" 2>&1); rc=$?
    if [ $rc -eq 1 ] && grep -q 'Stream Error' <<<"$out"; then
        ok "verify-stream-v2 -f xl rejects an unknown libxl record"
    else
        notok "verify-stream-v2 -f xl rejects an unknown libxl record (exit $rc)" "$out"
    fi
else
    why=$(tail -n 1 "$work/why")
    for n in "${names[@]}"; do
        echo "skip - verify-stream-v2 -f xl accepts the $n xl stream: $why"
    done
    echo "skip - verify-stream-v2 -f xl rejects an unknown libxl record: $why"
fi
