#!/usr/bin/env bash
# tests/e2e/trace-relayd.sh - two hvlab processes, one collector
# (docs/tracing.md, "Several processes, one collector").
#
# A private lttng-relayd (not daemonised, on free ports, killed at exit)
# collects two `hvlab run --trace net://127.0.0.1:C:D` started at the same
# time, the way the two sides of a migration report to one relayd:
#   1. both runs hold and say where the relayd writes their trace;
#   2. the relayd's output holds one host directory with two traces in it,
#      one per session (hvlab-<pid>-run-*);
#   3. babeltrace2 reads each: events > 0, one vpid each, the two distinct,
#      every procname hvlab's ("hvlab", or "hvlab-vN" for a vCPU thread);
#   4. analysis/count (hvlab-trace-count) reads the whole host directory:
#      the same total as babeltrace2, no loss;
#   5. a URL with nothing listening is exit 2 naming the URL and giving the
#      lttng-relayd command; a malformed URL is exit 2 too.
# Skipped, by name, without lttng-relayd, a session daemon or babeltrace2.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/relayd.sh"
HVLAB=$BUILD/hvlab
COUNT=$BUILD/hvlab-trace-count
SCEN=scenarios/pv-fork-storm-small.hvl
cd "$E2E_ROOT"
NAMES=("relayd: two hvlab runs at once stream to one relayd"
       "relayd: two traces under one host directory"
       "relayd: babeltrace2 sees both processes (two vpids, events from each)"
       "relayd: hvlab-trace-count reads the host directory, same total, no loss")
NAME_NOONE="relayd: a URL with nothing listening is exit 2 naming the URL"
NAME_BADURL="relayd: a malformed URL is exit 2"
skip_all() { local n; for n in "${NAMES[@]}"; do e2e_skip "$n" "$1"; done; }

if [ ! -x "$HVLAB" ] || [ ! -x "$COUNT" ]; then
    e2e_notok "${NAMES[0]}" "$HVLAB or $COUNT is not built (make)"
    exit 1
fi
T=$(e2e_tmpdir)

# 5 first: needs no relayd, only a port nobody listens at.
if b=$(pick_base); then
    url="net://127.0.0.1:$b:$((b + 1))"
    "$HVLAB" run "$SCEN" --trace "$url" >"$T/noone.out" 2>"$T/noone.err"; rc=$?
    if [ $rc -eq 2 ] && grep -qF "$url" "$T/noone.err" &&
       grep -q "no lttng-relayd is listening" "$T/noone.err" &&
       grep -q "lttng-relayd .*-C tcp://127.0.0.1:$b" "$T/noone.err"; then
        e2e_ok "$NAME_NOONE"
    else
        e2e_notok "$NAME_NOONE" "exit $rc:" "$(cat "$T/noone.err")"
    fi
else
    e2e_skip "$NAME_NOONE" "no free local port found"
fi
"$HVLAB" run "$SCEN" --trace "net://127.0.0.1:99999" >/dev/null 2>"$T/bad.err"; rc=$?
if [ $rc -eq 2 ] && grep -q "net://127.0.0.1:99999.*bad control port" "$T/bad.err"; then
    e2e_ok "$NAME_BADURL"
else
    e2e_notok "$NAME_BADURL" "exit $rc:" "$(cat "$T/bad.err")"
fi

command -v lttng-relayd >/dev/null || { skip_all "lttng-relayd is not installed"; exit 0; }
command -v babeltrace2 >/dev/null || { skip_all "no babeltrace2"; exit 0; }
e2e_sessiond || { skip_all "no LTTng session daemon could be started"; exit 0; }

start_relayd "$T/relay" || { skip_all "lttng-relayd could not be run here: $(tail -n 3 "$T/relay.log" 2>/dev/null)"; exit 0; }
trap 'stop_relayd; e2e_cleanup' EXIT
OUT=$T/relay
# 1. two runs at the same time
url="net://127.0.0.1:$C:$D"
"$HVLAB" run "$SCEN" --trace "$url" >"$T/a.out" 2>"$T/a.err" & pa=$!
"$HVLAB" run "$SCEN" --trace "$url" >"$T/b.out" 2>"$T/b.err" & pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
host=$(hostname)
if [ $ra -eq 0 ] && [ $rb -eq 0 ] &&
   grep -q "^trace: streamed to 127.0.0.1 (session hvlab-$pa-run-.*as $host/hvlab-$pa-run-" "$T/a.out" &&
   grep -q "^trace: streamed to 127.0.0.1 (session hvlab-$pb-run-.*as $host/hvlab-$pb-run-" "$T/b.out" &&
   grep -q "^trace: 0 discarded events, 0 lost packets" "$T/a.out" &&
   grep -q "^trace: 0 discarded events, 0 lost packets" "$T/b.out"; then
    e2e_ok "${NAMES[0]}"
else
    e2e_notok "${NAMES[0]}" "exits $ra $rb" "$(tail -n 4 "$T/a.out" "$T/b.out")" \
        "$(cat "$T/a.err" "$T/b.err")"
fi
# The relayd has the data once each session is destroyed; stop it so every
# file is closed before reading.
stop_relayd

# 2. one host directory, two traces
hosts=$(find "$OUT" -mindepth 1 -maxdepth 1 -type d | wc -l)
traces=("$OUT/$host"/hvlab-*-run-*)
if [ "$hosts" -eq 1 ] && [ -d "$OUT/$host" ] && [ ${#traces[@]} -eq 2 ] &&
   [ -d "${traces[0]}" ] && [ -d "${traces[1]}" ] &&
   ls -d "$OUT/$host"/hvlab-$pa-run-* "$OUT/$host"/hvlab-$pb-run-* >/dev/null 2>&1; then
    e2e_ok "${NAMES[1]}"
else
    e2e_notok "${NAMES[1]}" "relayd output:" "$(find "$OUT" -maxdepth 3)"
fi

# 3. babeltrace2, per trace: events, their vpid(s), procname
declare -A vp
total=0 good=1 why=""
for tr in "${traces[@]}"; do
    [ -d "$tr" ] || { good=0; why="no trace directory"; break; }
    babeltrace2 "$tr" 2>"$T/bt.err" | grep ' hvlab_' >"$T/ev.txt"
    n=$(wc -l <"$T/ev.txt")
    v=$(sed -n 's/.*{ vpid = \([0-9]*\), vtid = [0-9]*, procname = "[^"]*" }.*/\1/p' \
        "$T/ev.txt" | sort -u)
    # procname is the thread's name: "hvlab", or "hvlab-vN" for a vCPU
    other=$(grep -vc '{ vpid = [0-9]*, vtid = [0-9]*, procname = "hvlab[^"]*" }' "$T/ev.txt")
    total=$((total + n))
    if [ "$n" -eq 0 ] || [ "$(wc -l <<<"$v")" -ne 1 ] || [ "$other" -ne 0 ]; then
        good=0; why="$tr: $n events, vpids: $v, $other not from hvlab $(head -3 "$T/bt.err")"
    fi
    vp[$v]=$n
done
if [ $good -eq 1 ] && [ ${#vp[@]} -eq 2 ]; then
    e2e_ok "${NAMES[2]} ($(for k in "${!vp[@]}"; do printf 'vpid %s: %s events; ' "$k" "${vp[$k]}"; done | sed 's/; $//'))"
else
    e2e_notok "${NAMES[2]}" "${why:-vpids seen: ${!vp[*]}}"
fi

# 4. the repository's reader takes the whole host directory
got=$("$COUNT" --get events --get discarded "$OUT/$host" 2>"$T/cnt.err"); rc=$?
if [ $rc -eq 0 ] && [ "$got" = "$(printf 'events %d\ndiscarded 0' $total)" ] && [ $total -gt 0 ]; then
    e2e_ok "${NAMES[3]} ($total events)"
else
    e2e_notok "${NAMES[3]}" "exit $rc, babeltrace2 total $total, got:" "$got" "$(cat "$T/cnt.err")"
fi
exit 0
