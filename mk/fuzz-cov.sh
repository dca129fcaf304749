#!/usr/bin/env bash
# mk/fuzz-cov.sh - how much of core/ a fresh fuzzing campaign reaches
# (`make bench-cov`; docs/fuzz-build.md "Coverage").
#
# Rules:
#   V1  The campaign: each surface of COV_SURFACES (default mm grant shadow
#       race restore) runs its AFL++ persistent harness alone on one core
#       for an equal share of BENCH_COV_SECS (default 600: the issue's ten
#       minutes in all), from its seeds (fuzz/seeds/SURFACE, else one zero
#       byte) and dictionary, in a temporary directory.
#   V2  The measure: every input of the seeds and of every queue is run
#       once through $BUILD/fuzz/cov-SURFACE (the same harness built with
#       clang's source-based coverage, replaying one file per process,
#       rebuilding the world in process so the profile is written), the
#       profiles are merged, and llvm-cov reports core/'s regions, lines
#       and branches (a branch is an edge of the control-flow graph).
#   V3  Printed: the seeds' coverage first (the baseline), then the
#       campaign's, each as `figure` lines, and the ratio of branches
#       covered after to before.  Nothing is asserted: it is a benchmark.
#   V4  Without afl-fuzz, llvm-cov or the builds it prints `skip - ...`.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECS=${BENCH_COV_SECS:-600}
SURFACES=${COV_SURFACES:-mm grant shadow race restore}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in afl-fuzz llvm-cov llvm-profdata; do
    command -v $tool >/dev/null || { echo "skip - fuzz_cov: $tool is not installed (make deps)"; exit 0; }
done
n=0
for s in $SURFACES; do
    for b in afl cov; do
        [ -x "$BUILD/fuzz/$b-$s" ] || { echo "skip - fuzz_cov: $BUILD/fuzz/$b-$s not built (make fuzz-cov)"; exit 0; }
    done
    n=$((n + 1))
done
share=$((SECS / n))
[ "$share" -ge 1 ] || share=1

# V2: replay a list of inputs through each surface's coverage build.
replay() {   # $1: profile dir; then surface:file pairs on stdin
    mkdir -p "$1"
    while IFS=: read -r s f; do
        HVLAB_FUZZ_RESET=rebuild LLVM_PROFILE_FILE="$1/%p.profraw" \
            timeout 20 "$BUILD/fuzz/cov-$s" "$f" >/dev/null 2>&1
    done
    llvm-profdata merge -sparse -o "$1.profdata" "$1"/*.profraw 2>/dev/null
}
report() {   # $1: profdata; prints "regions lines branches" percentages
    local objs=() s
    for s in $SURFACES; do objs+=(-object "$BUILD/fuzz/cov-$s"); done
    llvm-cov report "${objs[@]:1}" -instr-profile="$1" \
        "$(pwd)/core" 2>/dev/null | awk '/^TOTAL/ {
            print $4, $10, $13 }'
}

seeds_list=$tmp/seeds.list
: >"$seeds_list"
for s in $SURFACES; do
    seeds=fuzz/seeds/$s
    if ! compgen -G "$seeds/*" >/dev/null; then
        seeds=$tmp/seeds-$s
        mkdir -p "$seeds"
        printf '\0' >"$seeds/zero"
    fi
    echo "$s $seeds" >>"$tmp/seed-dirs"
    for f in "$seeds"/*; do echo "$s:$f"; done >>"$seeds_list"
done
replay "$tmp/prof-seeds" <"$seeds_list"
read -r r0 l0 b0 < <(report "$tmp/prof-seeds.profdata")
echo "figure fuzz_core_cov_seeds_branches: ${b0:-?}   core/ branches covered by the seeds alone (regions ${r0:-?}, lines ${l0:-?})"

# V1: the campaign, one surface at a time.
all_list=$tmp/all.list
cp "$seeds_list" "$all_list"
while read -r s seeds; do
    dict=()
    [ -f "fuzz/dict/$s.dict" ] && dict=(-x "fuzz/dict/$s.dict")
    AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
        afl-fuzz -i "$seeds" -o "$tmp/out-$s" -V "$share" "${dict[@]}" -- \
        "$BUILD/fuzz/afl-$s" >"$tmp/log-$s" 2>&1
    q=$(ls "$tmp/out-$s"/default/queue/id:* 2>/dev/null | wc -l)
    echo "surface $s: ${share}s, $q inputs in the queue"
    for f in "$tmp/out-$s"/default/queue/id:*; do
        [ -f "$f" ] && echo "$s:$f"
    done >>"$all_list"
done <"$tmp/seed-dirs"
replay "$tmp/prof-all" <"$all_list"
read -r r1 l1 b1 < <(report "$tmp/prof-all.profdata")
ratio=$(awk -v a="${b1%\%}" -v b="${b0%\%}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }')
echo "figure fuzz_core_cov_branches: ${b1:-?}   core/ branches covered after a ${SECS}s campaign (regions ${r1:-?}, lines ${l1:-?}); ${ratio}x the seeds"
