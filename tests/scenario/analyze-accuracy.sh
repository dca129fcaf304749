#!/usr/bin/env bash
# tests/scenario/analyze-accuracy.sh - the migration accuracy run of issue 8
# (bench/analyze-accuracy.py, docs/analyze.md "Accuracy"), small: about 36
# faults of every kind - dropped, duplicated and corrupted page records,
# lost dirty bits, late backend writes - over a few PV and backend
# migrations (threads and det mode), each with a clean twin.
#
#   1. every fault the ground truth counts (the trace's hvlab_inject:fire
#      events and the stream / destination state; healed ones are not
#      counted) is detected and attributed to its pfn, round and writer by
#      `hvlab analyze --json --images`;
#   2. the stream faults (drop, dup, flip) are each counted at least once
#      (the run really exercised them);
#   3. the clean migrations give no finding from any checker;
#   4. every run migrated.
# Lost dirty bits heal when the guest writes the page again after the next
# CLEAN, and a backend's late write reaches the destination when it lands
# before the final round reads the page (a timing race): a small run may
# count none of either, which is said, not failed; when counted, they are
# held to (1).
# Needs the LTTng session daemon (tests/e2e/lib/common.sh starts one).
# About 2 minutes on 2 cores.
set -u
cd "$(dirname "$0")/../.."
. tests/scenario/lib/report.sh    # scenario_start, report
. tests/e2e/lib/common.sh         # e2e_sessiond
scenario_start analyze-accuracy
scenario_tmp

if ! "$HVLAB" analyze --list 2>/dev/null | grep -q mig.record-dropped; then
    echo "skip - analyze-accuracy: $HVLAB has no mig.* checkers"
    exit 0
fi
if ! e2e_sessiond; then
    echo "skip - analyze-accuracy: no LTTng session daemon can be started"
    exit 0
fi

out=$(python3 bench/analyze-accuracy.py --faults "${ACC_FAULTS:-36}" --seed 5 \
      --hvlab "$HVLAB" --summary "$TMP/sum.json" 2>&1)
rc=$?
report_rc $rc "analyze-accuracy: the run completes" "$out"
[ -s "$TMP/sum.json" ] || exit 0

check() {   # check EXPR: python over the summary s
    python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))
k = s['kinds']
sys.exit(0 if ($1) else 1)" "$TMP/sum.json"
}

table=$(grep -E '^(kind|drop|dup|flip|lostmark|backend|all|figure|#)' <<<"$out")
ok=0
check "s['counted'] > 0 and all(v['detected'] == v['counted'] and v['attributed'] == v['counted'] for v in k.values())" && ok=1
report $ok "analyze-accuracy: every counted fault is detected and attributed (pfn, round, writer)" "$table"

ok=0
check "all(k[x]['counted'] >= 1 for x in ('drop', 'dup', 'flip'))" && ok=1
report $ok "analyze-accuracy: dropped, duplicated and corrupted records were each counted" "$table"
check "k['lostmark']['counted'] >= 1" ||
    echo "# analyze-accuracy: every lost dirty bit of this run healed (none counted)"
check "k['backend']['counted'] >= 1" ||
    echo "# analyze-accuracy: no backend write of this run landed after its page's last send"

ok=0
check "s['clean_runs'] > 0 and s['clean_findings'] == 0" && ok=1
report $ok "analyze-accuracy: the clean migrations give no finding" "$table"

ok=0
check "s['failed_runs'] == 0" && ok=1
report $ok "analyze-accuracy: every run migrated" "$table"
