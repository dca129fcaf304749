# tests/scenario/lib/blk.sh - what the PV block driver's scenario tests
# (blk-io.sh, blk-suspend.sh) share (sourced, after lib/report.sh).
#
# blk_yield_run SCN [--inject POINT:yield ...]: run SCN in det mode, seed 5,
#   yielding in the backend's completion windows, at the extra points given,
#   and before the frontend's suspend; prints the run's output, returns its
#   exit status.
# blk_long_hvl FILE [WORKLOAD-OPTION] [EXPECTATION ...]: write the long-run
#   scenario: a driver domain and a two-vCPU guest doing 20,000 requests
#   (1..11 segments, depth 16, half reads, 8192 sectors; plus the option,
#   e.g. suspend-every=37), seed 11, expecting blk-verified, the
#   expectations given, audit-clean and workload-ok.
blk_yield_run() {
    local scn=$1
    shift
    "$HVLAB" run "$scn" --sched det --seed 5 \
        --inject blkback.complete.before_write:yield \
        --inject blkback.complete.after_write:yield \
        "$@" \
        --inject blkfront.suspend.before:yield 2>&1
}

blk_long_hvl() {
    local file=$1 opt=${2:-} e
    shift $(( $# < 2 ? $# : 2 ))
    {
        echo "domain driver kind=pv vcpus=1 memory=8M"
        echo "workload driver blkback"
        echo "domain guest kind=pv vcpus=2 memory=8M"
        echo "workload guest blk-io backend=driver ops=20000 depth=16 segs=1..11 reads=50 sectors=8192${opt:+ $opt}"
        echo "seed 11"
        echo "expect blk-verified"
        for e in "$@"; do
            echo "expect $e"
        done
        echo "expect audit-clean"
        echo "expect workload-ok"
    } > "$file"
}
