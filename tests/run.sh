#!/usr/bin/env bash
# tests/run.sh - run every test and add up the results.
#
#   unit tests      build/tests/unit/test-*   (one line per case)
#   scenario tests  tests/scenario/*.sh       (one line per case)
#   end-to-end      tests/e2e/*.sh            (one line per case)
#
# Every runner prints "ok - NAME", "not ok - NAME" or "skip - NAME: WHY";
# the indented (or #) lines a runner prints right under a "not ok" are its
# evidence and are shown with it.
# The last line is "N passed, N failed, N skipped"; exit 1 if any failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {   # run one runner, echo its lines, keep them for counting
    local what=$1; shift
    local out rc
    out=$("$@" 2>"$log.err"); rc=$?
    printf '%s\n' "$out" | grep -E '^(ok|not ok|skip) - ' >>"$log"
    # each result line, and the evidence a runner indents under a failure
    printf '%s\n' "$out" | awk '/^(ok|skip) - /{ev=0; print; next}
                                /^not ok - /{ev=1; print; next}
                                ev && /^[ \t#]/{print; next} {ev=0}' 
    if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok - '; then
        echo "not ok - $what (exit $rc)" | tee -a "$log"
    fi
    if [ $rc -ne 0 ]; then sed 's/^/    /' "$log.err" | tail -n 40; fi
    rm -f "$log.err"
}

for t in "$BUILD"/tests/unit/test-*; do
    [ -x "$t" ] || continue
    echo "# $(basename "$t")"
    run "$(basename "$t")" "$t"
done
for t in tests/scenario/*.sh tests/e2e/*.sh; do
    [ -f "$t" ] || continue
    echo "# $t"
    run "$t" bash "$t"
done

passed=$(grep -c '^ok - ' "$log")
failed=$(grep -c '^not ok - ' "$log")
skipped=$(grep -c '^skip - ' "$log")
if [ "$skipped" -gt 0 ]; then
    echo "skipped:"; grep '^skip - ' "$log" | sed 's/^skip - /  /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
