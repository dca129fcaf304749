#!/usr/bin/env bash
# tests/scenario/stream-verify.sh - hvlab's migration v2 streams against Xen's
# own checker (verify-stream-v2, from xen-utils-4.17; mk/xen-checker.sh), and
# the stream reader under AddressSanitizer and UBSan.
#
#   1. test-stream writes a PV, a checkpointed PV and an HVM stream (every
#      record kind the writer has); verify-stream-v2 -v accepts each, and so
#      does hvlab's reader.
#   2. Corrupted streams (a pfn type that is no PFINFO value; non-zero
#      padding): the checker and hvlab's reader both reject them.
#   3. The save loop's own streams (test-mig-save --write-save pv|hvm):
#      hvlab's reader and the checker accept them.
#   4. test-stream.c with the reader and writer, built alone with
#      -fsanitize=address,undefined: every test passes with no report.
# One line per case: "ok - NAME" / "not ok - NAME" / "skip - NAME: WHY".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
T=$BUILD/tests/unit/test-stream
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

if [ ! -x "$T" ]; then
    echo "skip - stream-verify: $T is not built"
    exit 0
fi

ok()    { echo "ok - $1"; }
notok() { echo "not ok - $1"; shift; [ $# -gt 0 ] && sed 's/^/    /' <<<"$*" | tail -n 20; }

for kind in pv pv-checkpointed hvm; do
    "$T" --write "$kind" "$work/$kind.stream" >/dev/null || notok "write the $kind stream"
done

# hvlab's reader on the good streams.
for kind in pv pv-checkpointed hvm; do
    flag=; [ "$kind" = pv-checkpointed ] && flag=--checkpointed
    out=$("$T" --read $flag "$work/$kind.stream" 2>&1)
    if [ $? -eq 0 ]; then ok "hvlab's reader accepts the $kind stream"
    else notok "hvlab's reader accepts the $kind stream" "$out"; fi
done

# corrupt FILE OFFSET BYTE: overwrite one byte.
corrupt() { printf "\\x$3" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none; }

# The first PAGE_DATA record of the PV sample is at 0xb0; pfn[0]'s top byte
# (type in bits 63-60) at 0xb0 + 16 + 7.  Type 5 is no XEN_DOMCTL_PFINFO value.
cp "$work/pv.stream" "$work/bad-type.stream"
corrupt "$work/bad-type.stream" 0xc7 50
# X86_PV_VCPU_XSAVE (8 + 13 bytes, 3 of padding) is 72 bytes from the end.
cp "$work/pv.stream" "$work/bad-pad.stream"
size=$(stat -c %s "$work/bad-pad.stream")
corrupt "$work/bad-pad.stream" $((size - 72 + 8 + 21 + 1)) 01

for bad in bad-type bad-pad; do
    out=$("$T" --read "$work/$bad.stream" 2>&1); rc=$?
    if [ $rc -eq 1 ] && grep -q '^rejected: record ' <<<"$out"; then
        ok "hvlab's reader rejects the $bad stream ($(sed 's/^rejected: //' <<<"$out" | cut -c1-80))"
    else
        notok "hvlab's reader rejects the $bad stream" "$out"
    fi
done

# Xen's checker.
if run=$(bash mk/xen-checker.sh 2>"$work/why"); then
    for kind in pv pv-checkpointed hvm; do
        out=$($run -v -i "$work/$kind.stream" 2>&1); rc=$?
        if [ $rc -eq 0 ] && grep -q 'Libxc Record: End' <<<"$out"; then
            ok "verify-stream-v2 accepts the $kind stream"
        else
            notok "verify-stream-v2 accepts the $kind stream (exit $rc)" "$out"
        fi
    done
    for bad in bad-type bad-pad; do
        out=$($run -v -i "$work/$bad.stream" 2>&1); rc=$?
        if [ $rc -eq 1 ] && grep -q 'Stream Error' <<<"$out"; then
            ok "verify-stream-v2 rejects the $bad stream ($(grep -E 'Error:|Exception|Error\(' <<<"$out" | tail -n 1 | cut -c1-80))"
        else
            notok "verify-stream-v2 rejects the $bad stream (exit $rc)" "$out"
        fi
    done
else
    why=$(tail -n 1 "$work/why")
    for kind in pv pv-checkpointed hvm; do
        echo "skip - verify-stream-v2 accepts the $kind stream: $why"
    done
    for bad in bad-type bad-pad; do
        echo "skip - verify-stream-v2 rejects the $bad stream: $why"
    done
fi

# Streams of the save loop (toolstack/mig_save.c): a PV domain saved
# non-live and an HVM (hap) domain saved live, both in verify mode, written
# by test-mig-save; hvlab's reader and Xen's checker accept them.
M=$BUILD/tests/unit/test-mig-save
if [ ! -x "$M" ]; then
    echo "skip - mig-save streams: $M is not built"
else
    for kind in pv hvm; do
        name="the save loop's $kind stream"
        if ! out=$("$M" --write-save "$kind" "$work/save-$kind.stream" 2>&1); then
            notok "write $name" "$out"
            continue
        fi
        out=$("$T" --read "$work/save-$kind.stream" 2>&1)
        if [ $? -eq 0 ]; then ok "hvlab's reader accepts $name"
        else notok "hvlab's reader accepts $name" "$out"; fi
        if run=$(bash mk/xen-checker.sh 2>"$work/why"); then
            out=$($run -v -i "$work/save-$kind.stream" 2>&1); rc=$?
            if [ $rc -eq 0 ] && grep -q 'Libxc Record: End' <<<"$out" &&
               grep -q 'Libxc Record: Verify' <<<"$out"; then
                ok "verify-stream-v2 accepts $name"
            else
                notok "verify-stream-v2 accepts $name (exit $rc)" "$out"
            fi
        else
            echo "skip - verify-stream-v2 accepts $name: $(tail -n 1 "$work/why")"
        fi
    done
fi

# The reader and writer under ASan + UBSan: test-stream.c alone (the fork
# hooks test.h names are liblttng-ust's; stubs stand in, so no tracer
# threads confuse the leak checker).
name="test-stream under -fsanitize=address,undefined"
cc=${CC:-cc}
asan=$BUILD/asan
mkdir -p "$asan"
cat >"$work/forkhooks.c" <<'EOF'
#include <signal.h>
void lttng_ust_before_fork(sigset_t *s) { (void)s; }
void lttng_ust_after_fork_parent(sigset_t *s) { (void)s; }
void lttng_ust_after_fork_child(sigset_t *s) { (void)s; }
EOF
if ! "$cc" -std=gnu11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
        -I. -D_GNU_SOURCE -D__XEN_TOOLS__ -o "$asan/test-stream" \
        tests/unit/test-stream.c toolstack/stream_write.c toolstack/stream_read.c \
        "$work/forkhooks.c" >"$work/asan-build.log" 2>&1; then
    echo "skip - $name: the sanitizer build failed: $(tail -n 1 "$work/asan-build.log")"
else
    out=$(ASAN_OPTIONS=detect_leaks=1 "$asan/test-stream" 2>&1); rc=$?
    if [ $rc -eq 0 ] && ! grep -q '^not ok' <<<"$out" &&
       ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' <<<"$out"; then
        ok "$name ($(grep -c '^ok - ' <<<"$out") tests)"
    else
        notok "$name (exit $rc)" "$out"
    fi
fi
