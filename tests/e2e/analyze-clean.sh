#!/usr/bin/env bash
# tests/e2e/analyze-clean.sh - the rebuilt state and the invariant checkers
# stay silent on correct runs (analysis/state.c, analysis/check_inv.c).
#
# Records traces of clean scenarios - a PV fork storm (SMP: writers of one
# frame are traced out of order), a PV live migration (two hosts in one
# trace), an HVM live migration (p2m entries, log-dirty), block I/O through
# grants, a grant-table scenario - and asserts that `hvlab analyze --json`
# reads each to its end, exits 0 and reports no finding at all (total 0;
# issue 8: every clean run gives no finding): every transition the state
# rebuilds is in the trace, and no checker - invariant or story - fires on
# a correct run.  A failure names each checker that fired, with its first
# finding's sentence.  Each case also checks that the analysis saw the
# events it rebuilds from (a trace of nothing passes nothing).  About 20 s
# in all.
set -u
. "$(dirname "$0")/lib/common.sh"
NAME="analyze clean"
HV=$BUILD/hvlab

if [ ! -x "$HV" ] || ! "$HV" analyze --help >/dev/null 2>&1; then
    e2e_skip "$NAME" "build/hvlab has no analyze command yet"
    exit 0
fi
if ! e2e_sessiond; then
    e2e_skip "$NAME" "no LTTng session daemon could be started"
    exit 0
fi
T=$(e2e_tmpdir)

# scenario, then an event the trace must hold for the case to mean anything
CASES="pv-fork-storm-small:hvlab_mm:type_change
migrate-live:hvlab_mig:recv_page
migrate-live-hvm:hvlab_p2m:entry_set
blk-io:hvlab_grant:pin_change
grant-xsa234:hvlab_grant:map"

for c in $CASES; do
    scen=${c%%:*}
    need=${c#*:}
    tr=$T/$scen
    "$HV" run "$E2E_ROOT/scenarios/$scen.hvl" --trace "$tr" >"$T/$scen.run" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        e2e_notok "$NAME: $scen: traced run" "hvlab run exited $rc" \
            "$(tail -n 10 "$T/$scen.run")"
        continue
    fi
    if ! grep -q "$need " "$T/$scen.run"; then
        e2e_notok "$NAME: $scen: the trace holds $need" \
            "$(tail -n 20 "$T/$scen.run")"
        continue
    fi
    "$HV" analyze --json "$tr" >"$T/$scen.json" 2>"$T/$scen.err"
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
        e2e_notok "$NAME: $scen: hvlab analyze reads the trace" "exit $rc" \
            "$(head -5 "$T/$scen.err")"
        continue
    fi
    bad=$(python3 - "$T/$scen.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = {k: v for k, v in d.get("by_checker", {}).items() if v}
seen = set()
for f in d.get("findings", []):
    if f.get("checker") in bad and f.get("checker") not in seen:
        seen.add(f.get("checker"))
        print("  %s: %s" % (f.get("checker"), f.get("what")))
print("total=%d %s" % (d.get("total", -1),
      " ".join("%s=%d" % kv for kv in sorted(bad.items())))
      if d.get("total") != 0 else "none")
EOF
)
    if [ $rc -eq 0 ] && [ "$(echo "$bad" | tail -n 1)" = "none" ]; then
        e2e_ok "$NAME: $scen: exit 0, no finding (total 0)"
    else
        e2e_notok "$NAME: $scen: exit 0, no finding (total 0)" "exit $rc" "$bad"
    fi
done
