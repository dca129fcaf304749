#!/usr/bin/env bash
# tests/e2e/migrate-relayd.sh - both hosts of a migration between two hvlab
# processes report to one lttng-relayd (docs/migration.md "Two processes",
# docs/tracing.md "Several processes, one collector").
#
# `hvlab receive --listen 127.0.0.1:0 --trace net://...` and `hvlab migrate
# scenarios/migrate-live.hvl --to tcp://... --trace net://...`:
#   1. both hold and say where their trace went;
#   2. the relayd holds one hvlab-*-migrate-* and one hvlab-*-receive-*
#      trace under one host directory;
#   3. read together by babeltrace2, the sender's process traced every
#      page it sent (hvlab_mig:send_page) and the receiver's every page it
#      received (hvlab_mig:recv_page), as many of each, with host 0 and
#      host 1 in their events: the analysis sees both sides;
#   4. each side traced hvlab_mig:xl_step 1..7 (headers, libxc END, kernel
#      state, END, ready, go, report), every rc 0.
# Skipped, by name, without lttng-relayd, a session daemon or babeltrace2.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/relayd.sh"
HVLAB=$BUILD/hvlab
SCEN=scenarios/migrate-live.hvl
cd "$E2E_ROOT"
NAMES=("migrate-relayd: sender and receiver both stream to one relayd and hold"
       "migrate-relayd: a migrate trace and a receive trace under one host directory"
       "migrate-relayd: babeltrace2 sees every page sent by one and received by the other"
       "migrate-relayd: both sides traced the seven steps of xl's wrapping and handshake")
skip_all() { local n; for n in "${NAMES[@]}"; do e2e_skip "$n" "$1"; done; }
if [ ! -x "$HVLAB" ]; then
    e2e_notok "${NAMES[0]}" "$HVLAB is not built (make)"
    exit 1
fi
command -v lttng-relayd >/dev/null || { skip_all "lttng-relayd is not installed"; exit 0; }
command -v babeltrace2 >/dev/null || { skip_all "no babeltrace2"; exit 0; }
e2e_sessiond || { skip_all "no LTTng session daemon could be started"; exit 0; }
T=$(e2e_tmpdir)
start_relayd "$T/relay" || { skip_all "lttng-relayd could not be run here: $(tail -n 3 "$T/relay.log" 2>/dev/null)"; exit 0; }
trap 'stop_relayd; e2e_cleanup' EXIT
url="net://127.0.0.1:$C:$D"

# 1
"$HVLAB" receive --listen 127.0.0.1:0 --trace "$url" >"$T/r.out" 2>"$T/r.err" &
rpid=$!
port=
for _ in $(seq 200); do
    port=$(sed -n 's/^hvlab receive: listening on port \([0-9]*\)$/\1/p' "$T/r.err")
    [ -n "$port" ] && break
    sleep 0.05
done
"$HVLAB" migrate "$SCEN" --to "tcp://127.0.0.1:${port:-1}" --trace "$url" \
    >"$T/s.out" 2>"$T/s.err"; src=$?
wait $rpid; rrc=$?
if [ -n "$port" ] && [ $src -eq 0 ] && [ $rrc -eq 0 ] &&
   grep -q '^trace: streamed to 127.0.0.1 (session hvlab-[0-9]*-migrate-' "$T/s.out" &&
   grep -q '^trace: streamed to 127.0.0.1 (session hvlab-[0-9]*-receive-' "$T/r.out" &&
   grep -q '^  verify-clean: held' "$T/r.out"; then
    e2e_ok "${NAMES[0]}"
else
    e2e_notok "${NAMES[0]}" "exits: sender $src, receiver $rrc" \
        "$(tail -n 8 "$T/s.out" "$T/r.out")" "$(cat "$T/s.err" "$T/r.err")"
fi
stop_relayd

# 2
host=$(hostname)
mig=("$T/relay/$host"/hvlab-*-migrate-*)
rcv=("$T/relay/$host"/hvlab-*-receive-*)
if [ ${#mig[@]} -eq 1 ] && [ -d "${mig[0]}" ] && [ ${#rcv[@]} -eq 1 ] &&
   [ -d "${rcv[0]}" ]; then
    e2e_ok "${NAMES[1]}"
else
    e2e_notok "${NAMES[1]}" "relayd output:" "$(find "$T/relay" -maxdepth 3)"
fi

# 3: one babeltrace2 over the host directory (both traces, merged in time)
babeltrace2 "$T/relay/$host" 2>"$T/bt.err" | grep -E 'hvlab_mig:(send|recv)_page' >"$T/pages.txt"
sent=$(grep -c 'hvlab_mig:send_page' "$T/pages.txt")
recv=$(grep -c 'hvlab_mig:recv_page' "$T/pages.txt")
svp=$(grep 'hvlab_mig:send_page' "$T/pages.txt" | sed -n 's/.*vpid = \([0-9]*\),.*/\1/p' | sort -u)
rvp=$(grep 'hvlab_mig:recv_page' "$T/pages.txt" | sed -n 's/.*vpid = \([0-9]*\),.*/\1/p' | sort -u)
if [ "$sent" -gt 4096 ] && [ "$sent" -eq "$recv" ] &&
   [ "$(wc -l <<<"$svp")" -eq 1 ] && [ "$(wc -l <<<"$rvp")" -eq 1 ] &&
   [ "$svp" != "$rvp" ]; then
    e2e_ok "${NAMES[2]} ($sent pages; sender vpid $svp, receiver vpid $rvp)"
else
    e2e_notok "${NAMES[2]}" "send_page $sent (vpids $svp), recv_page $recv (vpids $rvp)" \
        "$(head -3 "$T/bt.err")"
fi
# 4
babeltrace2 "$T/relay/$host" 2>/dev/null | grep 'hvlab_mig:xl_step' >"$T/steps.txt"
ssteps=$(grep 'receiver = 0' "$T/steps.txt" | sed -n 's/.*step = \([0-9]*\), rc = 0,.*/\1/p' | tr '\n' ' ')
rsteps=$(grep 'receiver = 1' "$T/steps.txt" | sed -n 's/.*step = \([0-9]*\), rc = 0,.*/\1/p' | tr '\n' ' ')
if [ "$ssteps" = "1 2 3 4 5 6 7 " ] && [ "$rsteps" = "1 2 3 4 5 6 7 " ]; then
    e2e_ok "${NAMES[3]}"
else
    e2e_notok "${NAMES[3]}" "sender steps: $ssteps; receiver steps: $rsteps" "$(head -20 "$T/steps.txt")"
fi
exit 0
