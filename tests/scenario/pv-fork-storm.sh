#!/usr/bin/env bash
# tests/scenario/pv-fork-storm.sh - the flagship scenario holds.
#
# Runs scenarios/pv-fork-storm.hvl (4 vCPUs, ptwr emulate) and expects exit
# 0: audit clean, workload ok, no spurious fault, the storm really forked.
# Prints "ok - NAME" / "not ok - NAME" / "skip - NAME: WHY".
set -u
cd "$(dirname "$0")/../.."
HVLAB=${BUILD:-build}/hvlab
name="pv-fork-storm holds (exit 0, every expectation held)"
if [ ! -x "$HVLAB" ]; then
    echo "skip - $name: $HVLAB is not built"
    exit 0
fi
out=$("$HVLAB" run scenarios/pv-fork-storm.hvl 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q 'expectations held - ok' <<<"$out"; then
    echo "ok - $name"
else
    echo "not ok - $name (exit $rc)"
    sed 's/^/    /' <<<"$out" | tail -n 30
fi

name="pv-fork-storm holds with another seed and --dump-tables"
dump=$(mktemp); trap 'rm -f "$dump"' EXIT
out=$("$HVLAB" run scenarios/pv-fork-storm.hvl --seed 12345 --dump-tables "$dump" 2>&1); rc=$?
# Every line: host mfn level slot pte_hex; some L4 entries exist.
if [ $rc -eq 0 ] && [ -s "$dump" ] \
   && awk 'NF != 5 || $3 < 1 || $3 > 4 || $4 > 511 || length($5) != 18 || $5 !~ /^0x[0-9a-f]+$/ { bad = 1 }
           $3 == 4 { l4 = 1 } END { exit bad || !l4 }' "$dump"; then
    echo "ok - $name ($(wc -l <"$dump") entries)"
else
    echo "not ok - $name (exit $rc)"
    sed 's/^/    /' <<<"$out" | tail -n 30
    head -n 5 "$dump" | sed 's/^/    dump: /'
fi
