#!/usr/bin/env bash
# tests/scenario/explore.sh - `hvlab explore` (docs/explore.md) and story C
# (XEN-NOTES 12.C) in det mode.
#
#   a. unhook, the shipped scenario: explore --runs 100 exits 1 naming a
#      broken seed and its replay line (--max-findings 1: a full-size det
#      run takes seconds); and every one of 100 seeds at a small size.
#   b. emulate: 1,000 seeds at a small size (the shipped size takes ~4 s a
#      seed in det mode: 1,000 would take an hour) all hold, exit 0.
#   c. the shipped seed SEED_C replays twice with --trace to the same trace
#      hash, and both runs break no-spurious-fault.
#   d. --fail-nth on pv-fork-storm-small (every hit of every failable
#      point): no leak (audit after teardown, heap), no crash, and no
#      deadlock (a failed root switch once left a vCPU waiting on itself).
#   e. usage errors are exit 2; the replay line of a seed prints the same
#      schedule hash as explore did (runs in one worker do not leak state).
set -u
cd "$(dirname "$0")/../.."
HVLAB=${BUILD:-build}/hvlab
if [ ! -x "$HVLAB" ]; then
    echo "skip - explore: $HVLAB is not built"
    exit 0
fi
SCN=scenarios/ptwr-unhook-spurious.hvl
SEED_C=7                    # reproduces story C at the small size
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
check() {   # check NAME STATUS [output shown on failure]
    if [ "$2" -eq 0 ]; then echo "ok - $1"; else
        echo "not ok - $1"; sed 's/^/    /' <<<"${3:-}" | tail -n 20; fi
}
# Story C at a small size: the shipped scenario, 4 MiB, 2 fork iterations.
sed -e 's/^machine ram=.*/machine ram=24M/' -e 's/memory=64M/memory=4M/' \
    -e 's/iters=60 pages=256/iters=2 pages=16/' "$SCN" >"$tmp/c-small.hvl"

# a.
out=$("$HVLAB" explore "$SCN" --runs 100 --set ptwr.mode=unhook --jobs 2 \
      --max-findings 1 2>&1); rc=$?
[ $rc -eq 1 ] && grep -Eq '^seed [0-9]+: BROKEN no-spurious-fault' <<<"$out" &&
    grep -Eq "^    hvlab run $SCN --sched det --seed [0-9]+ --set ptwr.mode=unhook$" <<<"$out"
check "explore $SCN, unhook, --runs 100: exit 1 naming a seed ($(grep -o '^seed [0-9]*' <<<"$out" | head -n 1))" $? "$out"

out=$("$HVLAB" explore "$tmp/c-small.hvl" --runs 100 --set ptwr.mode=unhook --jobs 2 2>&1); rc=$?
n=$(grep -c '^seed [0-9]*: BROKEN no-spurious-fault' <<<"$out")
[ $rc -eq 1 ] && [ "$n" -ge 1 ]
check "story C small, unhook: no-spurious-fault broke in $n of 100 seeds" $? "$out"

# b.
out=$("$HVLAB" explore "$tmp/c-small.hvl" --runs 1000 --jobs 2 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q '1000 runs in .* 0 seeds broke' <<<"$out"
check "story C small, emulate: 1000 of 1000 seeds hold" $? "$out"

# c.
. tests/scenario/lib/trace.sh     # trace_hash
name="story C seed $SEED_C replays twice with --trace to one trace hash, breaking no-spurious-fault both times"
if ! command -v babeltrace2 >/dev/null || ! { lttng list >/dev/null 2>&1 ||
     lttng-sessiond --no-kernel --daemonize >/dev/null 2>&1; }; then
    echo "skip - $name: no babeltrace2 or LTTng session daemon"
else
    ok=0; hs=(); all=""
    for i in 1 2; do
        out=$("$HVLAB" run "$tmp/c-small.hvl" --sched det --seed $SEED_C \
              --set ptwr.mode=unhook --trace "$tmp/tr$i" 2>&1); rc=$?
        all="$all$out"$'\n'
        { [ $rc -eq 1 ] && grep -q 'no-spurious-fault: BROKEN' <<<"$out"; } || ok=1
        hs+=("$(trace_hash "$tmp/tr$i")")
    done
    [ $ok -eq 0 ] && [ "${hs[0]}" = "${hs[1]}" ]
    check "$name (${hs[0]:0:16})" $? "$all hashes: ${hs[*]}"
fi

# d.
out=$("$HVLAB" explore scenarios/pv-fork-storm-small.hvl --fail-nth \
      --jobs 2 2>&1); rc=$?
bad=$(grep -E '^[a-z.]+ nth=[0-9]+: (LEAK|CRASH|DEADLOCK)' <<<"$out")
runs=$(grep -o '^explore --fail-nth: [0-9]* runs' <<<"$out" | grep -o '[0-9]* runs')
[ -z "$bad" ] && [ $rc -eq 0 ] && [ -n "$runs" ]
check "fail-nth on pv-fork-storm-small (every hit of every point, $runs): no leak, no crash, no deadlock" $? \
      "$bad"$'\n'"$(grep -A1 -E ': (LEAK|CRASH|DEADLOCK)' <<<"$out")"

# e.
out=$("$HVLAB" explore scenarios/pv-fork-storm-small.hvl 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q 'either --runs N or --fail-nth' <<<"$out"
check "explore without --runs or --fail-nth is exit 2" $? "$out"
out=$("$HVLAB" explore scenarios/pv-fork-storm-small.hvl --runs 3 --set nosuch=1 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "unknown option 'nosuch'" <<<"$out"
check "explore with a bad --set is exit 2 naming it" $? "$out"
out=$("$HVLAB" explore "$tmp/c-small.hvl" --runs 5 --first-seed 3 -v --jobs 1 2>&1)
h=$(grep '^seed 6: held' <<<"$out" | grep -o '0x[0-9a-f]*')
r=$("$HVLAB" run "$tmp/c-small.hvl" --sched det --seed 6 2>&1 | grep -o 'schedule 0x[0-9a-f]*' | cut -d' ' -f2)
[ -n "$h" ] && [ "$h" = "$r" ]
check "seed 6 run as the 4th of one worker's runs has the schedule hash of a fresh 'hvlab run' ($h)" $? "$out"
