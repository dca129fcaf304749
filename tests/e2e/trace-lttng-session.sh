#!/usr/bin/env bash
# tests/e2e/trace-lttng-session.sh - a plain user `lttng` session catches
# hvlab's events: nothing in hvlab depends on its own recorder.  The
# session catches every process of the user that emits hvlab events (other
# tests may run meanwhile), so only the emitter's events (by vpid) count.
set -u
. "$(dirname "$0")/lib/common.sh"
N=5000
NAME="plain user session catches hvlab events"

if ! e2e_sessiond; then
    e2e_skip "$NAME" "no LTTng session daemon could be started"
    exit 0
fi
T=$(e2e_tmpdir)
S="e2e-user-$$"
{
    lttng create "$S" --output="$T/trace" &&
    lttng enable-event -u -s "$S" 'hvlab_*' &&
    lttng add-context -u -s "$S" -t vpid &&
    lttng start "$S"
} >"$T/lttng.log" 2>&1
if [ $? -ne 0 ]; then
    lttng destroy "$S" >/dev/null 2>&1
    e2e_notok "$NAME" "lttng could not set up the session:" "$(cat "$T/lttng.log")"
    exit 1
fi
"$E2E_BIN/trace-emitter" $N >/dev/null &
pid=$!
wait $pid
lttng stop "$S" >/dev/null 2>&1
lttng destroy "$S" >/dev/null 2>&1
got=$(babeltrace2 "$T/trace" 2>/dev/null | grep ' hvlab_pt:pte_write: ' | grep -c "vpid = $pid }")
if [ "$got" -eq $N ]; then
    e2e_ok "$NAME ($N of $N)"
else
    e2e_notok "$NAME" "babeltrace2 found $got of $N events"
fi
exit 0
