#!/usr/bin/env bash
# tests/e2e/sched-det.sh - det mode end to end: the same scenario, seed and
# build give the same run (docs/determinism.md).
#
#   1. Two traced runs of a small fork storm (--sched det --seed 7 --trace):
#      the events' names and payloads, in order, hash the same (timestamps,
#      cpu ids and the vpid/vtid contexts are stripped: they differ between
#      processes).  A third run with another seed hashes differently.
#   2. Two untraced runs: the same report (guest stats, hypervisor counters,
#      schedule hash), for random and for PCT.
#   3. --schedule-out then --schedule replays the run to the same report.
#   4. The shipped scenarios run in det mode: pv-fork-storm holds, and
#      ptwr-unhook-spurious with ptwr.mode=unhook (sched.mem_quantum=4)
#      shows spurious faults reaching the guest at the shipped seed 1, while
#      ptwr.mode=emulate holds.
set -u
. "$(dirname "$0")/lib/common.sh"
HVLAB=$BUILD/hvlab
cd "$E2E_ROOT"
if [ ! -x "$HVLAB" ]; then
    e2e_notok "det mode end to end" "$HVLAB is not built (make)"
    exit 1
fi
T=$(e2e_tmpdir)
cat >"$T/small.hvl" <<'SCN'
machine ram=128M
domain storm kind=pv vcpus=4 memory=32M
workload storm fork-storm procs=2 threads=2 iters=3 pages=12
set ptwr.mode=emulate
set guest.spurious_check=on
seed 1
expect audit-clean
expect workload-ok
expect no-spurious-fault
SCN

# The report without its wall-clock line.
report() { "$HVLAB" run "$@" 2>&1 | grep -v '^  ran '; }

# Names and payloads of every event, in order (timestamps, cpu ids and the
# vpid/vtid/procname contexts stripped), into $1.txt.
trace_text() {
    babeltrace2 "$1" 2>/dev/null |
        sed -E 's/^\[[^]]*\] \([^)]*\) [^ ]+ //;
                s/\{ cpu_id = [0-9]+ \}, //;
                s/\{ vpid = [0-9]+, vtid = [0-9]+, procname = "[^"]*" \}, //' >"$1.txt"
    sha256sum <"$1.txt" | cut -d' ' -f1
}

# 1. traced runs
name="two traced det runs with one seed record the same events, byte for byte"
if ! e2e_sessiond || ! command -v babeltrace2 >/dev/null; then
    e2e_skip "$name" "no LTTng session daemon or no babeltrace2"
else
    ok=1; why=()
    for i in 1 2 3; do
        seed=7; [ $i -eq 3 ] && seed=8
        if ! "$HVLAB" run "$T/small.hvl" --sched det --seed $seed --trace "$T/tr$i" \
                >"$T/tr$i.out" 2>&1; then
            ok=0; why+=("traced run $i failed: $(tail -n 3 "$T/tr$i.out")")
        fi
    done
    if [ $ok -eq 1 ]; then
        h1=$(trace_text "$T/tr1"); h2=$(trace_text "$T/tr2"); h3=$(trace_text "$T/tr3")
        n1=$(wc -l <"$T/tr1.txt")
        if [ "$n1" -lt 1000 ]; then
            ok=0; why+=("only $n1 events recorded")
        elif [ "$h1" != "$h2" ]; then
            ok=0; why+=("hashes differ: $h1 vs $h2")
            diff "$T/tr1.txt" "$T/tr2.txt" | head -n 6 >&2
        fi
    fi
    if [ $ok -eq 1 ]; then
        e2e_ok "$name ($n1 events)"
        if [ "$h1" != "$h3" ]; then
            e2e_ok "a traced det run with another seed records other events"
        else
            e2e_notok "a traced det run with another seed records other events" "seed 8 hashes like seed 7"
        fi
    else
        e2e_notok "$name" "${why[@]}"
    fi
fi

# 2. untraced runs
for strat in random pct; do
    name="two untraced det runs ($strat) with one seed give the same report"
    a=$(report "$T/small.hvl" --sched det --seed 5 --set sched.strategy=$strat)
    b=$(report "$T/small.hvl" --sched det --seed 5 --set sched.strategy=$strat)
    if [ "$a" = "$b" ] && grep -q "schedule 0x" <<<"$a"; then
        e2e_ok "$name"
    else
        e2e_notok "$name" "$(diff <(echo "$a") <(echo "$b") | head -n 8)"
    fi
done

# 3. record and replay
name="--schedule-out, then --schedule, replays the run to the same report"
a=$(report "$T/small.hvl" --sched det --seed 9 --schedule-out "$T/sched.txt")
b=$(report "$T/small.hvl" --sched det --seed 9 --schedule "$T/sched.txt")
if [ -s "$T/sched.txt" ] && [ "$(sed 's/replay, then //' <<<"$b")" = "$a" ] &&
   grep -q "replay, then random" <<<"$b"; then
    e2e_ok "$name"
else
    e2e_notok "$name" "$(diff <(echo "$a") <(echo "$b") | head -n 8)"
fi
name="a schedule that does not fit the run is exit 2 naming the divergence"
head -n 6 "$T/sched.txt" >"$T/short.txt"
sed -i 's/^decisions .*/decisions 1/; /^hash/d' "$T/short.txt"
sed -n '/^---$/,$p' "$T/sched.txt" | sed -n '2p' | awk '{print $1}' | sed 's/x.*//' >>"$T/short.txt"
out=$("$HVLAB" run "$T/small.hvl" --sched det --seed 9 --schedule "$T/short.txt" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "replayed schedule ended at decision" <<<"$out"; then
    e2e_ok "$name"
else
    e2e_notok "$name" "exit $rc" "$(tail -n 4 <<<"$out")"
fi

# 4. the shipped scenarios
name="pv-fork-storm holds in det mode"
out=$("$HVLAB" run scenarios/pv-fork-storm.hvl --sched det --seed 2 2>&1); rc=$?
if [ $rc -eq 0 ]; then e2e_ok "$name"; else e2e_notok "$name" "$(tail -n 6 <<<"$out")"; fi

name="ptwr-unhook-spurious in det mode, unhook, seed 1: spurious faults reach the guest"
out=$("$HVLAB" run scenarios/ptwr-unhook-spurious.hvl --sched det --seed 1 \
      --set ptwr.mode=unhook --set sched.mem_quantum=4 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q 'no-spurious-fault: BROKEN' <<<"$out" &&
   ! grep 'BROKEN' <<<"$out" | grep -qv 'no-spurious-fault'; then
    e2e_ok "$name"
else
    e2e_notok "$name" "exit $rc" "$(tail -n 6 <<<"$out")"
fi
name="ptwr-unhook-spurious in det mode, emulate, seed 1: every expectation holds"
out=$("$HVLAB" run scenarios/ptwr-unhook-spurious.hvl --sched det --seed 1 \
      --set sched.mem_quantum=4 2>&1); rc=$?
if [ $rc -eq 0 ]; then e2e_ok "$name"; else e2e_notok "$name" "exit $rc" "$(tail -n 6 <<<"$out")"; fi
