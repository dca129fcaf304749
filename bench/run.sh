#!/usr/bin/env bash
# bench/run.sh - run every benchmark and gather its figures.
#
# Rules: every executable build/bench/* runs once, in name order; its lines
# "figure NAME: VALUE UNIT   [goal GOAL]   [free text]" are printed under
# the bench's name (other output goes nowhere, errors to stderr), and
# "skip - ..." lines are kept.  A summary table of every figure closes the
# run.  Benchmarks assert nothing: a goal is printed next to its value for
# a person to read.  Exit 1 when a benchmark failed to run, else 0.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
all=$(mktemp)
trap 'rm -f "$all" "$all".*' EXIT
failed=0

for b in "$BUILD"/bench/*; do
    [ -f "$b" ] && [ -x "$b" ] || continue
    name=$(basename "$b")
    echo "# $name"
    "$b" >"$all.out" 2>"$all.err"
    rc=$?
    grep -E '^(figure [^:]+:|skip - )' "$all.out" | tee -a "$all.$name" 
    sed -n 's/^figure \([^:]*\): /\1\t/p' "$all.out" | sed "s/^/$name\t/" >>"$all"
    if [ $rc -ne 0 ]; then
        echo "  $name FAILED (exit $rc):"
        tail -n 20 "$all.err" | sed 's/^/    /'
        failed=1
    fi
done

echo
echo "## summary"
printf '%-24s %-46s %12s %-18s %s\n' bench figure value unit goal
# fields: bench, figure, "VALUE UNIT   [goal G]   [free]"
while IFS=$'\t' read -r bench fig rest; do
    vu=${rest%%   *}
    value=${vu%% *}
    unit=${vu#* }
    [ "$unit" = "$vu" ] && unit=
    goal=
    case $rest in *"   goal "*) goal=${rest#*   goal }; goal=${goal%%   *} ;; esac
    printf '%-24s %-46s %12s %-18s %s\n' "$bench" "$fig" "$value" "$unit" "$goal"
done <"$all"
exit $failed
