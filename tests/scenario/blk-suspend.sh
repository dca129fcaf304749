#!/usr/bin/env bash
# tests/scenario/blk-suspend.sh - suspend and resume a vbd with requests in
# flight (docs/blk.md "Suspend and resume"; scenarios/blk-suspend.hvl).
#
#   1. blk-suspend.hvl holds (blk-verified, blk-quiesced, audit-clean,
#      workload-ok) in threads mode, with and without persistent grants:
#      every suspend acknowledged, no grant entry still GTF_reading /
#      GTF_writing after it, all 400 requests verified.
#   2. The same in det mode over seeds 1..30 (hvlab explore), with and
#      without persistent grants; at det seeds 1..5 the suspends really meet
#      requests the backend had taken and mapped (the driver's report
#      counts them), and still no grant is in use after any.
#   3. blkback.quiesce=off: blk-quiesced fails and its evidence names busy
#      grants (ref, frame, flags) - the ring among them -, while
#      blk-verified, audit-clean and workload-ok still hold (the backend
#      completes the requests after its acknowledgement), threads and det,
#      with and without persistent grants.  blkback.quiesce.before:skip
#      does the same with quiesce on.
#   4. Yields in the backend's completion and quiesce windows and before
#      the suspend change nothing.
#   5. A long run: 20,000 requests, 1..11 segments, depth 16, a suspend
#      every 37 completions (about 540 suspends), every read verified,
#      threads and det, with and without persistent grants.
# A few seconds on 2 cores.
set -u
cd "$(dirname "$0")/../.."
. tests/scenario/lib/report.sh    # scenario_start, report, held
. tests/scenario/lib/blk.sh       # blk_yield_run, blk_long_hvl
scenario_start blk-suspend
SCN=scenarios/blk-suspend.hvl
scenario_tmp

# 1
for p in off on; do
    out=$("$HVLAB" run "$SCN" --set blkback.persistent=$p 2>&1); rc=$?
    ok=0
    if [ $rc -eq 0 ] && held blk-quiesced "$out" && held blk-verified "$out" &&
       grep -q 'blkfront: 400 requests completed OK, [0-9]* bytes, 0 sectors failed' <<<"$out" &&
       grep -q 'blkfront: 7 suspends (every 50 ops), 0 grants still in use' <<<"$out"; then
        ok=1
    fi
    report $ok "blk-suspend holds in threads mode (persistent=$p): 7 suspends, no grant in use after any, 400 requests verified" "$out"
done

# 2
for p in off on; do
    out=$("$HVLAB" explore "$SCN" --runs 30 --set blkback.persistent=$p 2>&1); rc=$?
    report_rc $rc "blk-suspend holds in det mode for seeds 1..30 (persistent=$p)" "$out"
done

for p in off on; do
    ok=1; fails=""
    for seed in 1 2 3 4 5; do
        out=$("$HVLAB" run "$SCN" --sched det --seed $seed --set blkback.persistent=$p 2>&1); rc=$?
        n=$(sed -n 's/.*blkback: 7 suspends acknowledged, \([0-9]*\) requests taken and in flight.*/\1/p' <<<"$out")
        if [ $rc -ne 0 ] || [ -z "$n" ] || [ "$n" -eq 0 ] ||
           ! grep -q 'blkfront: 7 suspends (every 50 ops), 0 grants still in use' <<<"$out"; then
            ok=0; fails="$out"
        fi
    done
    report $ok "det seeds 1..5 (persistent=$p): the suspends meet requests the backend took and mapped; quiesce completes and unmaps them all before suspended=1" "$fails"
done

# 3
for p in off on; do
    for mode in "threads" "det --seed 4" "det --seed 9"; do
        out=$("$HVLAB" run "$SCN" --sched $mode --set blkback.persistent=$p \
              --set blkback.quiesce=off 2>&1); rc=$?
        ok=0
        if [ $rc -ne 0 ] && grep -q '^  blk-quiesced: BROKEN' <<<"$out" &&
           grep -q 'grant entries still in use after the backend.s suspended=1: ref [0-9]* frame 0x[0-9a-f]* flags 0x' <<<"$out" &&
           grep -q 'blkfront: suspend [0-9]*: grant ref [0-9]* (frame 0x[0-9a-f]*, flags 0x19 reading writing) is still mapped' <<<"$out" &&
           held blk-verified "$out" && held audit-clean "$out" && held workload-ok "$out"; then
            ok=1
        fi
        report $ok "blkback.quiesce=off ($mode, persistent=$p): blk-quiesced fails naming the busy grants; every read still verified, clean" "$out"
    done
done
out=$("$HVLAB" run "$SCN" --sched det --seed 2 --inject blkback.quiesce.before:skip 2>&1); rc=$?
ok=0
if [ $rc -ne 0 ] && grep -q '^  blk-quiesced: BROKEN' <<<"$out" && held blk-verified "$out" &&
   held audit-clean "$out"; then
    ok=1
fi
report $ok "blkback.quiesce.before:skip acknowledges without quiescing: blk-quiesced fails, the rest holds" "$out"

# 4
out=$(blk_yield_run "$SCN" --inject blkback.quiesce.before:yield \
      --inject blkback.quiesce.after:yield); rc=$?
report_rc $rc "yields in the completion, quiesce and suspend windows change nothing" "$out"

# 5
blk_long_hvl "$TMP/long.hvl" suspend-every=37 blk-quiesced
for mode in threads det; do
    for p in off on; do
        out=$("$HVLAB" run "$TMP/long.hvl" --sched $mode --set blkback.persistent=$p 2>&1); rc=$?
        n=$(sed -n 's/.*blkfront: \([0-9]*\) suspends (every 37 ops), 0 grants still in use.*/\1/p' <<<"$out")
        ok=0
        if [ $rc -eq 0 ] && grep -q 'blkfront: 20000 requests completed OK, [0-9]* bytes, 0 sectors failed' <<<"$out" &&
           [ -n "$n" ] && [ "$n" -ge 500 ]; then
            ok=1
        fi
        report $ok "long run: 20000 requests verified across ${n:-?} suspends with requests in flight ($mode, persistent=$p)" "$out"
    done
done
