#!/usr/bin/env bash
# tests/e2e/pte-replay.sh - the trace replays to the final page tables.
#
# Runs the flagship scenario traced, with a dump of every present entry of
# every validated page table at the end of the run (before teardown), then
# replays every hvlab_pt:pte_write of the trace (the last new_pte per host,
# table and slot; the domain builder's writes are traced too) and requires
# every dumped entry to equal its replayed value.  If a PTE could change
# without a tracepoint, this is the test that says so.
set -u
. "$(dirname "$0")/lib/common.sh"
NAME="pte replay"
SCEN=$E2E_ROOT/scenarios/pv-fork-storm.hvl
HV=$BUILD/hvlab

if [ ! -x "$HV" ] || ! "$HV" run --help 2>&1 | grep -q -- '--dump-tables'; then
    e2e_skip "$NAME" "build/hvlab has no run command yet"
    exit 0
fi
if [ ! -f "$SCEN" ]; then
    e2e_skip "$NAME" "scenarios/pv-fork-storm.hvl does not exist yet"
    exit 0
fi
if ! e2e_sessiond; then
    e2e_skip "$NAME" "no LTTng session daemon could be started"
    exit 0
fi
T=$(e2e_tmpdir)
"$HV" run "$SCEN" --trace "$T/trace" --dump-tables "$T/tables" >"$T/run.out" 2>"$T/run.err"
rc=$?
if [ $rc -ne 0 ]; then
    e2e_notok "$NAME: traced pv-fork-storm run" "hvlab run exited $rc" \
        "$(tail -n 15 "$T/run.out")" "$(tail -n 15 "$T/run.err")"
    exit 1
fi
e2e_ok "$NAME: traced pv-fork-storm run holds its expectations"
if [ ! -s "$T/tables" ]; then
    e2e_notok "$NAME: table dump is written" "--dump-tables wrote nothing to $T/tables"
    exit 1
fi
out=$("$E2E_BIN/pte-replay" "$T/trace" "$T/tables" 2>"$T/replay.err"); rc=$?
if [ $rc -eq 0 ]; then
    e2e_ok "$NAME: every dumped page-table entry equals its replayed PTE writes (${out#pte-replay: })"
else
    e2e_notok "$NAME: every dumped page-table entry equals its replayed PTE writes" \
        "$out" "$(head -n 25 "$T/replay.err")"
fi
exit 0
