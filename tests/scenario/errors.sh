#!/usr/bin/env bash
# tests/scenario/errors.sh - the CLI's exit codes and messages.
#
# Scenario and usage errors exit 2 naming what was wrong (FILE:LINE for a
# scenario); an expectation that cannot hold exits 1 with its evidence.
# One line per case: "ok - NAME" / "not ok - NAME" / "skip - NAME: WHY".
set -u
cd "$(dirname "$0")/../.."
HVLAB=${BUILD:-build}/hvlab
if [ ! -x "$HVLAB" ]; then
    echo "skip - hvlab exit codes: $HVLAB is not built"
    exit 0
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# check NAME WANT_RC PATTERN -- ARGS...: run hvlab, want exit WANT_RC and
# PATTERN (grep -E, over the output joined into one line) in its
# stdout+stderr.
check() {
    local name=$1 want=$2 pat=$3; shift 4
    local out rc
    out=$("$HVLAB" "$@" 2>&1); rc=$?
    if [ $rc -eq "$want" ] && tr '\n' ' ' <<<"$out" | grep -qE -- "$pat"; then
        echo "ok - $name"
    else
        echo "not ok - $name (exit $rc, wanted $want and /$pat/)"
        sed 's/^/    /' <<<"$out" | tail -n 20
    fi
}

cat >"$work/bad-line.hvl" <<'HVL'
# a scenario with a mistake on line 4
domain g vcpus=2 memory=32M
workload g fork-storm procs=2 iters=2
set ptwr.mode=sideways
expect audit-clean
HVL
cat >"$work/bad-key.hvl" <<'HVL'
domain g vcpus=2 memory=32M
workload g fork-storm procs=2 iters=2

set ptwr.speed=fast
HVL
cat >"$work/bad-directive.hvl" <<'HVL'
domain g vcpus=2 memory=32M
workload g fork-storm procs=2 iters=2
expectt audit-clean
HVL
cat >"$work/impossible.hvl" <<'HVL'
domain g vcpus=2 memory=32M
workload g fork-storm procs=2 threads=1 iters=3 pages=8
expect audit-clean
expect min-forks 1000000
HVL

check "a bad option value is exit 2 naming file:line and the value" 2 \
      "bad-line.hvl:4: .*sideways.*emulate.unhook" -- run "$work/bad-line.hvl"
check "an unknown option key is exit 2 naming the line and the known keys" 2 \
      "bad-key.hvl:4: .*unknown option 'ptwr.speed'.*ptwr.mode" -- run "$work/bad-key.hvl"
check "an unknown directive is exit 2 naming the line" 2 \
      "bad-directive.hvl:3: unknown directive 'expectt'" -- run "$work/bad-directive.hvl"
check "a missing scenario file is exit 2 naming it" 2 \
      "no-such.hvl: cannot open scenario" -- run "$work/no-such.hvl"
check "an unknown --set key is exit 2 listing the known keys" 2 \
      "--set nosuch=1: unknown option 'nosuch'.*guest.spurious_check" -- \
      run scenarios/pv-fork-storm.hvl --set nosuch=1
check "run without a scenario is exit 2" 2 "missing the SCENARIO" -- run
check "an unknown run option is exit 2" 2 "unknown option '--frob'" -- \
      run scenarios/pv-fork-storm.hvl --frob
check "a bad --sched is exit 2" 2 "expected threads or det" -- \
      run scenarios/pv-fork-storm.hvl --sched fast
check "an unknown command is exit 2 with the usage" 2 \
      "unknown command 'frobnicate'.*usage:" -- frobnicate
check "no command at all is exit 2 with the usage" 2 "usage:" --
check "run --help is exit 0" 0 "usage: hvlab run SCENARIO" -- run --help
check "help lists every command" 0 "run .*options .*help .*version" -- help
check "options lists every layer's options and the expectations" 0 \
      "ptwr.mode.*guest.spurious_check.*expect audit-clean" -- options
check "version prints the version" 0 "^hvlab [0-9]" -- version
check "an expectation that cannot hold is exit 1 with its evidence" 1 \
      "min-forks 1000000: BROKEN \(.*impossible.hvl:4\) - only [0-9]+ forks ran" -- \
      run "$work/impossible.hvl"

# det mode runs the scenario and judges it like threads mode.
out=$("$HVLAB" run "$work/impossible.hvl" --sched det 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "min-forks 1000000: BROKEN" <<<"$out"; then
    echo "ok - --sched det runs the scenario (the scheduler is built)"
else
    echo "not ok - --sched det (exit $rc)"
    sed 's/^/    /' <<<"$out" | tail -n 20
fi
