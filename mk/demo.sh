#!/usr/bin/env bash
# mk/demo.sh - `make demo`: run the flagship scenario traced, say what it found.
#
# Rules: `make demo` has already run `make all` (which installs missing
# packages through mk/deps.sh and builds).  This script runs
#   build/hvlab run scenarios/pv-fork-storm.hvl --trace build/demo-trace-<time>
# (hvlab prints the run's verdict and what the trace holds), replays the
# trace's PTE writes onto the page tables the run ended with, shows a few
# events as babeltrace2 prints them, then how to go further.
# Exit status: 0 when every expectation held and the replay matched, else 1.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
HV=$BUILD/hvlab
SCEN=scenarios/pv-fork-storm.hvl

if [ ! -x "$HV" ] || ! "$HV" run --help 2>&1 | grep -q -- '--trace'; then
    echo "demo: $HV has no run command yet (the CLI is not built); nothing to run" >&2
    exit 1
fi
STAMP=$(date +%Y%m%d-%H%M%S)
DIR=$BUILD/demo-trace-$STAMP
TABLES=$BUILD/demo-tables-$STAMP.txt

echo "== running the flagship scenario, traced (hvlab prints what the trace holds)"
echo "\$ $HV run $SCEN --trace $DIR --dump-tables $TABLES"
"$HV" run "$SCEN" --trace "$DIR" --dump-tables "$TABLES"
rc=$?
echo
if [ ! -d "$DIR" ]; then
    echo "demo: the run left no trace in $DIR (exit $rc)" >&2
    exit 1
fi
echo "== replaying the trace's PTE writes onto the page tables the run ended with"
echo "\$ $BUILD/tests/e2e/pte-replay $DIR $TABLES"
"$BUILD/tests/e2e/pte-replay" "$DIR" "$TABLES"
prc=$?
echo
echo "== a few of its events, as babeltrace2 prints them"
for ev in hvlab_hcall:entry hvlab_pt:pte_write hvlab_mm:type_change hvlab_guest:pf_delivered; do
    babeltrace2 "$DIR" 2>/dev/null | grep -m 1 " $ev: " | cut -c 1-220
done
echo
echo "== going further"
echo "  babeltrace2 $DIR | less            every event, in time order"
echo "  $BUILD/hvlab-trace-count $DIR      what the trace holds, again"
echo "  $HV run $SCEN --seed 7             another interleaving"
echo "  docs/trace-events.md, docs/tracing.md, docs/scenarios.md"
if [ $rc -eq 0 ] && [ $prc -eq 0 ]; then
    echo "demo: every expectation of $SCEN held, and the trace replays to the final page tables; the trace is in $DIR"
else
    echo "demo: something did not hold (run exit $rc, replay exit $prc); the trace is in $DIR" >&2
fi
[ $rc -eq 0 ] && [ $prc -eq 0 ]
