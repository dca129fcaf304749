# tests/scenario/lib/report.sh - the frame of a scenario test (sourced, from
# the top of the tree, after `cd "$(dirname "$0")/../.."`).
#
# scenario_start NAME: HVLAB = the hvlab binary of $BUILD (default build);
#   when it is not built, says "skip - NAME: ..." and exits the test.
# scenario_tmp: TMP = a fresh directory, removed when the test exits.
# report OK NAME OUTPUT: "ok - NAME" when OK is 1, else "not ok - NAME"
#   followed by the last 30 lines of OUTPUT, indented.
# report_rc RC NAME OUTPUT: report, OK when the exit status RC is 0.
# held EXPECTATION OUTPUT: the run's report says EXPECTATION held.
scenario_start() {
    HVLAB=${BUILD:-build}/hvlab
    if [ ! -x "$HVLAB" ]; then
        echo "skip - $1: $HVLAB is not built"
        exit 0
    fi
}

scenario_tmp() {
    TMP=$(mktemp -d)
    trap 'rm -rf "$TMP"' EXIT
}

report() {   # report OK NAME OUTPUT
    if [ "$1" = 1 ]; then
        echo "ok - $2"
    else
        echo "not ok - $2"
        sed 's/^/    /' <<<"$3" | tail -n 30
    fi
}

report_rc() {   # report_rc RC NAME OUTPUT
    report "$([ "$1" -eq 0 ] && echo 1)" "$2" "$3"
}

held() { grep -q "^  $1: held" <<<"$2"; }
