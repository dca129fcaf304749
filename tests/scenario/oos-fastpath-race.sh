#!/usr/bin/env bash
# tests/scenario/oos-fastpath-race.sh - story A (XEN-NOTES 12.A): shadow
# OOS vs the lock-free fast path, scenarios/oos-fastpath-race.hvl in det
# mode (its inject line yields inside the fast path's window).
#
#   a. racy: the shipped seed breaks no-spurious-fault (and nothing else);
#      with guest.spurious_check=off the same seed kills a process and the
#      guest's report names the faulting address.
#   b. racy: explore over seeds 1..100 finds at least one seed that breaks
#      no-spurious-fault, and only that.
#   c. fixed (Xen since 2009): 1,000 seeds all hold, exit 0.
#   d. racy with shadow.oos=off, and with shadow.fastpath=off: the shipped
#      seed holds (the race needs both).
#   e. the shipped seed replays twice with --trace to one trace hash; the
#      trace's spurious fault is at the address of a.
#   f. seed 58, fixed, with the yield: the run completes (it once hung in
#      shadow teardown, core/shadow/common.c).
set -u
cd "$(dirname "$0")/../.."
HVLAB=${BUILD:-build}/hvlab
if [ ! -x "$HVLAB" ]; then
    echo "skip - oos-fastpath-race: $HVLAB is not built"
    exit 0
fi
SCN=scenarios/oos-fastpath-race.hvl
SEED=7                      # the file's seed; reproduces in det mode
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
check() {   # check NAME STATUS [output shown on failure]
    if [ "$2" -eq 0 ]; then echo "ok - $1"; else
        echo "not ok - $1"; sed 's/^/    /' <<<"${3:-}" | tail -n 20; fi
}
# The expectations a run broke, one word each, sorted.
broken() { grep -o '^  [a-z-]*: BROKEN' | sed 's/: BROKEN//; s/^ *//' | sort | tr '\n' ' '; }

# a.
out=$("$HVLAB" run "$SCN" --sched det --seed $SEED 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$(broken <<<"$out")" = "no-spurious-fault " ]
check "racy, seed $SEED in det mode breaks no-spurious-fault only ($(grep -o '[0-9]* spurious faults reached the guest' <<<"$out"))" $? "$out"

out=$("$HVLAB" run "$SCN" --sched det --seed $SEED --set guest.spurious_check=off 2>&1); rc=$?
va=$(grep -o 'killed on vcpu [0-9]*: spurious page fault.*(va 0x[0-9a-f]*)' <<<"$out" |
     head -n 1 | grep -o '0x[0-9a-f]*')
[ $rc -eq 1 ] && [ -n "$va" ]
check "racy, seed $SEED, guest.spurious_check=off: the guest's report names the spurious fault's address ($va)" $? "$out"

# b.
out=$("$HVLAB" explore "$SCN" --runs 100 --jobs 2 2>&1); rc=$?
seeds=$(grep -o '^seed [0-9]*: BROKEN no-spurious-fault' <<<"$out" | cut -d' ' -f2 | tr -d ':' | tr '\n' ' ')
other=$(grep -E '^seed [0-9]+: (BROKEN|CRASH|DEADLOCK)' <<<"$out" | grep -v 'BROKEN no-spurious-fault (')
[ $rc -eq 1 ] && [ -n "$seeds" ] && [ -z "$other" ] &&
    grep -Eq "^    hvlab run $SCN --sched det --seed [0-9]+$" <<<"$out"
check "racy, explore seeds 1..100: no-spurious-fault broke in seeds ${seeds% }" $? "$out"

# c.
out=$("$HVLAB" explore "$SCN" --runs 1000 --jobs 2 --set shadow.fastpath_oos=fixed 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q '^explore: 1000 runs in .* 0 seeds broke' <<<"$out"
check "fixed, explore seeds 1..1000: every seed holds" $? "$out"

# d.
for opt in shadow.oos=off shadow.fastpath=off; do
    out=$("$HVLAB" run "$SCN" --sched det --seed $SEED --set "$opt" 2>&1)
    check "racy with $opt: seed $SEED holds" $? "$out"
done

# e.
. tests/scenario/lib/trace.sh     # trace_hash
name="racy, seed $SEED replays twice with --trace to one trace hash, breaking no-spurious-fault both times"
if ! command -v babeltrace2 >/dev/null || ! { lttng list >/dev/null 2>&1 ||
     lttng-sessiond --no-kernel --daemonize >/dev/null 2>&1; }; then
    echo "skip - $name: no babeltrace2 or LTTng session daemon"
else
    ok=0; hs=(); all=""
    for i in 1 2; do
        out=$("$HVLAB" run "$SCN" --sched det --seed $SEED --trace "$tmp/tr$i" 2>&1); rc=$?
        all="$all$out"$'\n'
        { [ $rc -eq 1 ] && grep -q 'no-spurious-fault: BROKEN' <<<"$out"; } || ok=1
        hs+=("$(trace_hash "$tmp/tr$i")")
    done
    [ $ok -eq 0 ] && [ -n "${hs[0]}" ] && [ "${hs[0]}" = "${hs[1]}" ]
    check "$name (${hs[0]:0:16})" $? "$all hashes: ${hs[*]}"

    # The guest judged one delivered fault spurious; a. named its address.
    tva=$(babeltrace2 "$tmp/tr1" 2>/dev/null | grep 'hvlab_guest:pf_delivered' |
          grep 'spurious = 1' | grep -o 'va = 0x[0-9A-Fa-f]*' | head -n 1 | cut -d' ' -f3)
    [ -n "$tva" ] && [ -n "$va" ] && [ $((tva)) -eq $((va)) ]
    check "racy, seed $SEED: the trace's spurious pf_delivered is at the address of the guest's report ($tva)" $? \
          "trace: '$tva', report: '$va'"
fi

# f.
out=$(timeout 60 "$HVLAB" run "$SCN" --sched det --seed 58 --set shadow.fastpath_oos=fixed 2>&1); rc=$?
[ $rc -eq 124 ] && out="the run did not finish in 60 s (shadow teardown hang?)"$'\n'"$out"
check "fixed, seed 58 with the yield: the run completes and holds (teardown hang regression)" $rc "$out"
