#!/usr/bin/env bash
# tests/e2e/trace-record.sh - hvlab's recorder (trace/record.c) end to end.
#
# A program emits a known number of hvlab events through TRC(); the recorder
# records it the way `hvlab run --trace DIR` does; the babeltrace2 CLI and
# analysis/count.c must both read back exactly that many, with no loss.
# Also: the recorder refuses a non-empty directory, sweeps the session of a
# dead controller, and the PTE replay helper agrees with the emitter's
# writes (so a failure of the scenario replay test is about hvlab, not the
# helper).
set -u
. "$(dirname "$0")/lib/common.sh"
N=20000

if ! e2e_sessiond; then
    e2e_skip "recorder records every emitted event" "no LTTng session daemon could be started"
    exit 0
fi
for b in trace-record trace-emitter pte-replay; do
    if [ ! -x "$E2E_BIN/$b" ]; then
        e2e_notok "recorder records every emitted event" "$E2E_BIN/$b is not built (make)"
        exit 1
    fi
done
T=$(e2e_tmpdir)

# 1. record N events
out=$("$E2E_BIN/trace-record" "$T/trace" -- "$E2E_BIN/trace-emitter" $N 2>"$T/rec.err")
if [ $? -eq 0 ] && grep -q "discarded 0 lost 0" <<<"$out"; then
    e2e_ok "recorder records $N emitted events and reports no loss"
else
    e2e_notok "recorder records $N emitted events and reports no loss" "$out" "$(cat "$T/rec.err")"
    exit 1
fi

# 2. the babeltrace2 CLI reads them back (its warnings go to stderr, apart)
bt=$(babeltrace2 "$T/trace" 2>"$T/bt.err" | grep -c ' hvlab_pt:pte_write: ')
last=$(babeltrace2 "$T/trace" 2>/dev/null | grep ' hvlab_pt:pte_write: ' | tail -n 1)
want_last=$(printf 'new_pte = 0x%X' $((N - 1)))
if [ "$bt" -eq $N ] && grep -q "$want_last" <<<"$last"; then
    e2e_ok "babeltrace2 reads back all $N events, payloads in order"
else
    e2e_notok "babeltrace2 reads back all $N events, payloads in order" \
        "babeltrace2 saw $bt events; last: $last" "$(head -5 "$T/bt.err")"
fi

# 3. analysis/count.c counts the same, per event and per provider, no loss
cnt=$("$BUILD/hvlab-trace-count" --get hvlab_pt:pte_write --get hvlab_pt \
      --get events --get discarded "$T/trace" 2>"$T/cnt.err"); rc=$?
expect=$(printf 'hvlab_pt:pte_write %d\nhvlab_pt %d\nevents %d\ndiscarded 0' $N $N $N)
if [ $rc -eq 0 ] && [ "$cnt" = "$expect" ]; then
    e2e_ok "analysis/count.c counts the same $N events, zero discarded"
else
    e2e_notok "analysis/count.c counts the same $N events, zero discarded" \
        "exit $rc, got:" "$cnt" "$(cat "$T/cnt.err")"
fi

# 4. the PTE replay helper: the emitter wrote new_pte = i to slot i%512 of
#    table 0x1000 + i/512, level 1
printf '# host mfn level slot pte\n0 4096 1 0 0\n0 4096 1 511 1ff\n0 %d 1 %d %x\n' \
    $((4096 + (N - 1) / 512)) $(((N - 1) % 512)) $((N - 1)) >"$T/dump-good"
printf '0 4096 1 5 6\n' >"$T/dump-bad"
if "$E2E_BIN/pte-replay" "$T/trace" "$T/dump-good" >/dev/null 2>"$T/rp.err" &&
   ! "$E2E_BIN/pte-replay" "$T/trace" "$T/dump-bad" >/dev/null 2>&1; then
    e2e_ok "pte replay helper accepts the written entries and rejects a wrong one"
else
    e2e_notok "pte replay helper accepts the written entries and rejects a wrong one" \
        "$(cat "$T/rp.err")"
fi

# 5. a directory that is not empty is refused, and left alone
before=$(find "$T/trace" | wc -l)
out=$("$E2E_BIN/trace-record" "$T/trace" -- true 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "not empty" <<<"$out" && [ "$(find "$T/trace" | wc -l)" -eq "$before" ]; then
    e2e_ok "recorder refuses a trace directory that is not empty"
else
    e2e_notok "recorder refuses a trace directory that is not empty" "exit $rc: $out"
fi

# 6. a session left by a dead controller (its pid is in the name) is swept
bash -c 'exit 0' & dead=$!; wait $dead
stale="hvlab-$dead-1"
if lttng create "$stale" --output="$T/stale" >/dev/null 2>&1; then
    "$E2E_BIN/trace-record" "$T/trace2" -- true >/dev/null 2>&1
    if lttng list 2>/dev/null | grep -q "$stale"; then
        lttng destroy "$stale" >/dev/null 2>&1
        e2e_notok "recorder sweeps the session of a dead controller" "$stale is still listed"
    else
        e2e_ok "recorder sweeps the session of a dead controller"
    fi
else
    e2e_skip "recorder sweeps the session of a dead controller" "lttng create $stale failed"
fi
exit 0
