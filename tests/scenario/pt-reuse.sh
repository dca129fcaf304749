#!/usr/bin/env bash
# tests/scenario/pt-reuse.sh - story D's guest holds (scenarios/pt-reuse.hvl).
#
# Runs the pt-reuse scenario in threads and det mode and expects exit 0
# (audit clean, workload ok) with L1s reused from the quicklist and pages
# ballooned out and back in; with mm.pfinfo_devalidated=pt the L1s left on
# the quicklist break audit-clean (invariant 12) while the workload holds.
# Prints "ok - NAME" / "not ok - NAME" / "skip - NAME: WHY".
set -u
cd "$(dirname "$0")/../.."
HVLAB=${BUILD:-build}/hvlab
if [ ! -x "$HVLAB" ]; then
    echo "skip - pt-reuse: $HVLAB is not built"
    exit 0
fi

for sched in threads det; do
    name="pt-reuse holds in $sched mode, reusing L1s and ballooning"
    out=$("$HVLAB" run scenarios/pt-reuse.hvl --sched "$sched" 2>&1); rc=$?
    line=$(grep -o 'pt-reuse: [0-9]* L1s released to the quicklist, [0-9]* reused; [0-9]* pages ballooned out, [0-9]* back in' <<<"$out")
    read -r rel reu bout bin < <(sed 's/[^0-9 ]//g' <<<"$line" | awk '{ print $1, $2, $3, $4 }')
    if [ $rc -eq 0 ] && grep -q 'expectations held - ok' <<<"$out" \
       && [ "${rel:-0}" -gt 0 ] && [ "${reu:-0}" -gt 0 ] \
       && [ "${bout:-0}" -gt 0 ] && [ "${bin:-0}" -gt 0 ]; then
        echo "ok - $name ($line)"
    else
        echo "not ok - $name (exit $rc)"
        sed 's/^/    /' <<<"$out" | tail -n 30
    fi
done

name="pt-reuse with mm.pfinfo_devalidated=pt breaks audit-clean only (invariant 12)"
out=$("$HVLAB" run scenarios/pt-reuse.hvl --set mm.pfinfo_devalidated=pt 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q 'audit-clean: BROKEN' <<<"$out" \
   && grep -q 'workload-ok: held' <<<"$out" \
   && grep -q 'reports L1TAB for a table neither validated nor pinned' <<<"$out"; then
    echo "ok - $name"
else
    echo "not ok - $name (exit $rc)"
    sed 's/^/    /' <<<"$out" | tail -n 30
fi
