#!/usr/bin/env bash
# tests/scenario/blk-io.sh - the PV split block driver end to end
# (docs/blk.md): blkfront in a guest, blkback in a driver domain.
#
#   1. blk-io.hvl and blk-io-persistent.hvl hold in threads mode, and every
#      request completed (the report counts them).
#   2. Both hold in det mode over seeds 1..100 (hvlab explore).
#   3. With quiesce the frontend ends every grant after the backend's
#      Closed; with blkback.quiesce=off the backend acknowledges while it
#      still maps the ring (and persistent pages): the frontend's
#      end_access is refused (GTF_writing/reading), counted, and the run
#      still ends clean (the backend unmaps once the frontend is Closed).
#      Quiesce skipped by injection and yields in the backend's windows
#      also hold.
#   4. One driver domain serves two frontends at once (threads, and det
#      over seeds 1..20 with persistent grants).
#   5. A long run (20,000 requests, up to 11 segments, depth 16) holds with
#      verification, with and without persistent grants, in threads mode
#      and in det mode.
# The whole script takes a few seconds on 2 cores.
set -u
cd "$(dirname "$0")/../.."
. tests/scenario/lib/report.sh    # scenario_start, report, held
. tests/scenario/lib/blk.sh       # blk_yield_run, blk_long_hvl
scenario_start blk-io
SCN=scenarios/blk-io.hvl
PER=scenarios/blk-io-persistent.hvl
scenario_tmp

# 1
for scn in "$SCN" "$PER"; do
    out=$("$HVLAB" run "$scn" 2>&1); rc=$?
    ok=0
    if [ $rc -eq 0 ] && grep -q 'blkfront: 400 requests completed OK, [0-9]* bytes, 0 sectors failed' <<<"$out" &&
       grep -q 'blk-verified: held' <<<"$out"; then
        ok=1
    fi
    report $ok "$(basename "$scn" .hvl) holds in threads mode, all 400 requests verified" "$out"
done

# 2
for scn in "$SCN" "$PER"; do
    out=$("$HVLAB" explore "$scn" --runs 100 2>&1); rc=$?
    report_rc $rc \
        "$(basename "$scn" .hvl) holds in det mode for seeds 1..100" "$out"
done

# 3
for scn in "$SCN" "$PER"; do
    out=$("$HVLAB" run "$scn" 2>&1)
    ok=0
    grep -q ' 0 grants still mapped after the backend closed' <<<"$out" && ok=1
    report $ok "$(basename "$scn" .hvl): with quiesce every grant is unmapped before Closed (each one ended)" "$out"
done
out=$("$HVLAB" run "$SCN" --set blkback.quiesce=off 2>&1); rc=$?
ok=0
if [ $rc -eq 0 ] && grep -q ' 1 grants still mapped after the backend closed' <<<"$out"; then
    ok=1
fi
report $ok "blkback.quiesce=off: the ring is still mapped when the backend says Closed (its end_access is refused), and the run stays clean" "$out"
out=$("$HVLAB" run "$PER" --set blkback.quiesce=off 2>&1); rc=$?
ok=0
if [ $rc -eq 0 ] && grep -q ' 33 grants still mapped after the backend closed' <<<"$out"; then
    ok=1
fi
report $ok "blkback.quiesce=off, persistent: the ring and all 32 persistent pages are still mapped at Closed" "$out"
out=$("$HVLAB" run "$PER" --sched det --seed 3 \
      --inject blkback.quiesce.before:skip 2>&1); rc=$?
report_rc $rc "quiesce skipped by injection (persistent grants): the backend unmaps once the frontend is Closed, still clean" "$out"
out=$(blk_yield_run "$SCN"); rc=$?
report_rc $rc "yields in the backend's completion windows and before suspend change nothing" "$out"

# 4
cat > "$TMP/two.hvl" <<'HVL'
domain driver kind=pv vcpus=2 memory=4M
workload driver blkback
domain g1 kind=pv vcpus=1 memory=4M
workload g1 blk-io backend=driver ops=500 depth=8 segs=1..6 sectors=2048
domain g2 kind=pv vcpus=2 memory=4M
workload g2 blk-io backend=driver ops=700 depth=16 segs=2..11 sectors=4096
seed 2
expect blk-verified
expect audit-clean
expect workload-ok
HVL
out=$("$HVLAB" run "$TMP/two.hvl" 2>&1); rc=$?
ok=0
if [ $rc -eq 0 ] && grep -q 'blkfront: 500 requests completed OK' <<<"$out" &&
   grep -q 'blkfront: 700 requests completed OK' <<<"$out"; then
    ok=1
fi
report $ok "one blkback serves two frontends, every request verified (threads)" "$out"
out=$("$HVLAB" explore "$TMP/two.hvl" --runs 20 --set blkback.persistent=on 2>&1); rc=$?
report_rc $rc "two frontends with persistent grants hold in det mode for seeds 1..20" "$out"

# 5
blk_long_hvl "$TMP/long.hvl"
for mode in threads det; do
    for p in off on; do
        out=$("$HVLAB" run "$TMP/long.hvl" --sched $mode --set blkback.persistent=$p 2>&1); rc=$?
        ok=0
        if [ $rc -eq 0 ] && grep -q 'blkfront: 20000 requests completed OK' <<<"$out"; then
            ok=1
        fi
        report $ok "long run: 20000 requests, 1..11 segments, verified ($mode, persistent=$p)" "$out"
    done
done
