#!/usr/bin/env bash
# tests/scenario/inject.sh - the injector through the CLI (docs/inject.md).
#
#   - `hvlab inject list` prints every point; `--hits FILE` reads what a
#     run wrote with --inject-stats.
#   - A bad --inject is exit 2 naming the point; a bad plan file names its
#     line; a bad scenario `inject` line names the scenario's line.
#   - pv-fork-storm with alloc.domheap failing its 200th allocation: the
#     build's populate fails with -XEN_ENOMEM, the run says so, leaks
#     nothing, prints the injection counts, and does not crash (exit 2:
#     the scenario could not be run).
#   - A run with a plan that holds (hcall.preempt forcing continuations)
#     still holds every expectation.
set -u
cd "$(dirname "$0")/../.."
HVLAB=${BUILD:-build}/hvlab
if [ ! -x "$HVLAB" ]; then
    echo "skip - inject: $HVLAB is not built"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() {   # check NAME COND-EXIT-STATUS [output to show on failure]
    if [ "$2" -eq 0 ]; then echo "ok - $1"; else
        echo "not ok - $1"; sed 's/^/    /' <<<"${3:-}" | tail -n 20; fi
}

out=$("$HVLAB" inject list 2>&1); rc=$?
n=$(grep -c '^[a-z]' <<<"$out")
[ $rc -eq 0 ] && grep -q '^alloc.domheap ' <<<"$out" && \
    grep -q '^tlb.remote_flush.deliver ' <<<"$out" && [ "$n" -ge 18 ]
check "inject list prints the catalog ($n points)" $? "$out"

out=$("$HVLAB" run scenarios/pv-fork-storm.hvl --inject 'alloc.domheap:skip' 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "point 'alloc.domheap': cannot skip here" <<<"$out"
check "a binding a point does not support is exit 2 naming the point" $? "$out"

out=$("$HVLAB" run scenarios/pv-fork-storm.hvl --inject 'alloc.domheapx:fail' 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "unknown point 'alloc.domheapx'" <<<"$out"
check "an unknown point is exit 2 naming it" $? "$out"

printf '# a plan\nhcall.entry:yield\nuva.before_flush:fail\n' >"$tmp/bad.plan"
out=$("$HVLAB" run scenarios/pv-fork-storm.hvl --inject "$tmp/bad.plan" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "bad.plan:3: point 'uva.before_flush': cannot fail here" <<<"$out"
check "a bad plan file line is exit 2 naming the file, line and point" $? "$out"

{ cat scenarios/pv-fork-storm.hvl; echo 'inject alloc.domheap:fail,errno=EBUSY'; } >"$tmp/s.hvl"
out=$("$HVLAB" run "$tmp/s.hvl" 2>&1); rc=$?
line=$(wc -l <"$tmp/s.hvl")
[ $rc -eq 2 ] && grep -q "s.hvl:$line: point 'alloc.domheap': fail: errno=EBUSY" <<<"$out"
check "a bad scenario inject line names the scenario's line" $? "$out"

out=$("$HVLAB" run scenarios/pv-fork-storm.hvl \
      --inject 'alloc.domheap:fail,errno=ENOMEM,nth=200' \
      --inject-stats "$tmp/stats" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q -- '-XEN_ENOMEM' <<<"$out" && \
    grep -q 'after teardown: audit 0 violations.*(clean, no leak)' <<<"$out" && \
    grep -Eq 'alloc.domheap +200 hits +1 fired' <<<"$out"
check "alloc.domheap failing the 200th allocation of pv-fork-storm: a clean -ENOMEM report, no leak, no crash (exit $rc)" $? "$out"

out=$("$HVLAB" inject list --hits "$tmp/stats" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -Eq '^alloc.domheap .*hits 200, fires 1' <<<"$out"
check "inject list --hits shows the run's counts" $? "$out"

out=$("$HVLAB" run scenarios/pv-fork-storm.hvl --inject 'hcall.preempt:fail,every=4' 2>&1); rc=$?
[ $rc -eq 0 ] && grep -Eq 'hcall.preempt +[0-9]+ hits +[1-9][0-9]* fired' <<<"$out"
check "pv-fork-storm with forced continuations holds every expectation" $? "$out"
