# tests/e2e/lib/common.sh - what every end-to-end test shares (sourced).
#
# Rules: a test prints one line per case, "ok - NAME", "not ok - NAME" or
# "skip - NAME: WHY" (tests/run.sh counts them), and explains a failure on
# stderr.  A test that needs the LTTng session daemon calls e2e_sessiond,
# which starts one when none answers (root's lives in /var/run/lttng).
# Scratch space comes from e2e_tmpdir and is removed when the test exits.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$E2E_ROOT/$BUILD ;; esac
E2E_BIN=$BUILD/tests/e2e

e2e_ok()    { echo "ok - $1"; }
e2e_notok() { echo "not ok - $1"; shift; [ $# -gt 0 ] && printf '    %s\n' "$@" >&2; return 0; }
e2e_skip()  { echo "skip - $1: $2"; }

# True when a session daemon answers (the lttng client's own test).
e2e_sessiond_alive() {
    lttng list >/dev/null 2>&1
}

# Start the session daemon if none answers.  0 when one answers after.
e2e_sessiond() {
    e2e_sessiond_alive && return 0
    command -v lttng-sessiond >/dev/null 2>&1 || return 1
    lttng-sessiond --no-kernel --daemonize >/dev/null 2>&1 || return 1
    e2e_sessiond_alive
}

E2E_TMPDIRS=()
e2e_cleanup() {
    local d
    for d in "${E2E_TMPDIRS[@]}"; do rm -rf "$d"; done
}
trap e2e_cleanup EXIT

# A fresh scratch directory, removed at exit.
e2e_tmpdir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/hvlab-e2e.XXXXXX") || return 1
    E2E_TMPDIRS+=("$d")
    echo "$d"
}
