#!/usr/bin/env bash
# tests/scenario/p2m-lookup-race.sh - story B (XEN-NOTES 12.B), both p2m
# lock disciplines, the paging and the sharing variant.
#
#   1. The scenario as shipped (p2m.lock=locked) holds in threads mode.
#   2. p2m.lock=none with the shipped plan and seed 1 in det mode breaks
#      no-stale-foreign-map, and the evidence names the gfn and the frame.
#   3. explore over seeds 1..100 with none finds at least one broken seed.
#   4. locked: 1,000 det seeds with the plan all hold.
#   5-7. The same for the sharing variant; with none the audit reports an
#      RW mapping of a dom_cow frame (invariant 22) naming the frame.
# Every det run is a few milliseconds; the whole script takes a few
# seconds on 2 cores.
set -u
cd "$(dirname "$0")/../.."
HVLAB=${BUILD:-build}/hvlab
SCN=scenarios/p2m-lookup-race.hvl
SHR=scenarios/p2m-lookup-race-sharing.hvl
PLAN=scenarios/p2m-lookup-race.plan
if [ ! -x "$HVLAB" ]; then
    echo "skip - p2m-lookup-race: $HVLAB is not built"
    exit 0
fi

report() {   # report OK NAME OUTPUT
    if [ "$1" = 1 ]; then
        echo "ok - $2"
    else
        echo "not ok - $2"
        sed 's/^/    /' <<<"$3" | tail -n 30
    fi
}

# 1, 5: the shipped scenarios hold.
for scn in "$SCN" "$SHR"; do
    out=$("$HVLAB" run "$scn" 2>&1); rc=$?
    report "$([ $rc -eq 0 ] && echo 1)" \
        "$(basename "$scn" .hvl) as shipped (p2m.lock=locked) holds" "$out"
done

# 2: none reproduces at the shipped seed; the evidence names the frame.
out=$("$HVLAB" run "$SCN" --sched det --seed 1 --inject "$PLAN" \
      --set p2m.lock=none 2>&1); rc=$?
ok=0
if [ $rc -eq 1 ] && grep -q 'no-stale-foreign-map: BROKEN' <<<"$out" &&
   grep -Eq 'STALE foreign mapping: wrote d1 gfn 0x[0-9a-f]+ through an RW PTE to mfn 0x[0-9a-f]+, but the M2P gives that frame to' <<<"$out"; then
    ok=1
fi
report $ok "p2m.lock=none, det seed 1 with the plan: the mapper wrote a frame that no longer backed its gfn, and the report names it" "$out"

# 6: the sharing variant's none run: an RW mapping of a dom_cow frame.
out=$("$HVLAB" run "$SHR" --sched det --seed 2 --inject "$PLAN" \
      --set p2m.lock=none 2>&1); rc=$?
ok=0
if [ $rc -eq 1 ] && grep -q 'audit-clean: BROKEN' <<<"$out" &&
   grep -Eq 'audit: invariant 22 .*: mfn 0x[0-9a-f]+ owner dom_cow' <<<"$out" &&
   grep -q 'M2P gives that frame to sharing (dom_cow)' <<<"$out"; then
    ok=1
fi
report $ok "p2m.lock=none, sharing, det seed 2: the audit finds an RW mapping of a shared (dom_cow) frame and names it" "$out"

# 3, 7: explore with none finds the race.
for scn in "$SCN" "$SHR"; do
    out=$("$HVLAB" explore "$scn" --runs 100 --jobs 2 --inject "$PLAN" \
          --set p2m.lock=none 2>&1); rc=$?
    n=$(grep -o '[0-9]* seeds\? broke an expectation' <<<"$out" | grep -o '^[0-9]*')
    crashed=$(grep -o '([0-9]* crashed)' <<<"$out" | grep -o '[0-9]*')
    report "$([ $rc -eq 1 ] && [ "${n:-0}" -ge 1 ] && [ "${crashed:-1}" -eq 0 ] && echo 1)" \
        "$(basename "$scn" .hvl): explore over seeds 1..100 with p2m.lock=none finds the race (${n:-0} of 100 broke, none crashed)" \
        "$(tail -n 5 <<<"$out")"
done

# 4, 8: locked holds over 1,000 seeds.
for scn in "$SCN" "$SHR"; do
    out=$("$HVLAB" explore "$scn" --runs 1000 --jobs 2 --inject "$PLAN" 2>&1); rc=$?
    report "$([ $rc -eq 0 ] && grep -q '1000 runs in .*: 0 seeds broke an expectation (0 crashed), 0 could not run' <<<"$out" && echo 1)" \
        "$(basename "$scn" .hvl): p2m.lock=locked holds in 1000 of 1000 det seeds with the plan" \
        "$(tail -n 8 <<<"$out")"
done
