#!/usr/bin/env bash
# tests/scenario/ptwr-unhook-spurious.sh - story C, both ptwr modes.
#
# ptwr.mode=emulate (the scenario's own setting) must hold in every one of 5
# runs.  ptwr.mode=unhook is a race: the test reports in how many of 10 runs
# no-spurious-fault broke, without failing on that count (reliable
# reproduction comes with the injector); it fails only if a run could not
# run (exit 2 or a crash) or broke something other than the spurious-fault
# expectations (the audit, for instance).
set -u
cd "$(dirname "$0")/../.."
HVLAB=${BUILD:-build}/hvlab
SCN=scenarios/ptwr-unhook-spurious.hvl
if [ ! -x "$HVLAB" ]; then
    echo "skip - ptwr-unhook-spurious: $HVLAB is not built"
    exit 0
fi

held=0; last=""
for seed in 1 2 3 4 5; do
    out=$("$HVLAB" run "$SCN" --seed "$seed" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then held=$((held + 1)); else last=$out; fi
done
name="ptwr-unhook-spurious with ptwr.mode=emulate holds in every run"
if [ $held -eq 5 ]; then
    echo "ok - $name (5 of 5)"
else
    echo "not ok - $name ($held of 5 held)"
    sed 's/^/    /' <<<"$last" | tail -n 30
fi

broke=0; other=0; errors=0; last=""; what=""
for seed in 1 2 3 4 5 6 7 8 9 10; do
    out=$("$HVLAB" run "$SCN" --seed "$seed" --set ptwr.mode=unhook 2>&1); rc=$?
    case $rc in
    0) ;;
    1) grep -q 'no-spurious-fault: BROKEN' <<<"$out" && broke=$((broke + 1))
       if grep 'BROKEN' <<<"$out" | grep -qv 'no-spurious-fault'; then
           other=$((other + 1)); last=$out
           what="$what $(grep -o '^  [a-z-]*: BROKEN' <<<"$out" | grep -v spurious |
                         sed 's/: BROKEN//; s/^ *//' | tr '\n' ' ')(seed $seed)"
       fi ;;
    *) errors=$((errors + 1)); last=$out; what="$what exit $rc (seed $seed)" ;;
    esac
done
name="ptwr-unhook-spurious with ptwr.mode=unhook runs"
if [ $errors -eq 0 ] && [ $other -eq 0 ]; then
    echo "ok - $name (no-spurious-fault broke in $broke of 10 runs)"
else
    echo "not ok - $name ($errors runs failed to run, $other broke other expectations:" \
         "$what; no-spurious-fault broke in $broke of 10)"
    sed 's/^/    /' <<<"$last" | tail -n 30
fi
