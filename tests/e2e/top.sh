#!/usr/bin/env bash
# tests/e2e/top.sh - `hvlab top` against real hvlab processes (docs/top.md).
#
# Needs BPF (CAP_BPF, CAP_PERFMON, a kernel with BTF, a build with the
# skeleton): `hvlab top --check` says whether it can be used; when it
# cannot, every case prints "skip - NAME: top: REASON".
#
# No case depends on timing: a target is stopped (SIGSTOP) as soon as it is
# an hvlab process, `hvlab top` attaches to it (it says "attached" on
# stderr), and only then is the target continued.  The last sample, printed
# when the target exits, is complete, so its figures are exact.
#
#   1. A fork storm: hypercall counts > 0 for the storm's domain (dom 1,
#      the only guest), mmu_update and mmuext_op among them; each row's
#      histogram sums to its count; faults counted by outcome.
#   2. top exits by itself (status 0) when the target exits.
#   3. --once --json on a running target: one sample, exit 0; --hist
#      with --entry (hcall_entry attached too: 8 probes, not 7).
#   4. A live migration with an injection delay: every round of the
#      migrated domain, the final one marked, the injection firings counted.
#      Its verify pass (the scenario has verify=on) is one round of kind
#      "verify", neither live nor final, with no dirty rate; every row
#      names its host.
#   5. A block I/O run: the backend domain's grant maps and unmaps.
#   6. SIGINT detaches: top exits 0 and the target runs on to its end.
#   7. --pid of a process that is not hvlab: one sentence, exit 2.
#   8. A hap guest (migrate-live-hvm.hvl): its nested-fault decisions
#      (npf_*, core/mm/hap.c) reach the fault probe, under host 0.
#   9. What is missing, named: without CAP_BPF, CAP_PERFMON and
#      CAP_SYS_ADMIN (setpriv drops them from the bounding set) `top
#      --check` names the two capabilities, and with /sys/kernel/btf hidden
#      (a tmpfs over it in a private mount namespace) it names the file;
#      exit 2 both times.  Each skips by name where the machine cannot
#      take the privilege away.
set -u
. "$(dirname "$0")/lib/common.sh"
HVLAB=$BUILD/hvlab
cd "$E2E_ROOT"

CASES=(
    "top: a fork storm's hypercalls counted for its domain"
    "top: every histogram sums to its hypercall count"
    "top: faults counted by outcome"
    "top: exits by itself when the target exits"
    "top --once --json: one sample of a running target"
    "top --hist --entry: the latency histogram of one hypercall, timed by BPF"
    "top: migration rounds and injection firings"
    "top: grant maps and unmaps of the backend domain"
    "top: SIGINT detaches, the target runs to its end"
    "top --pid of a process that is not hvlab: exit 2"
    "top: a hap guest's nested faults reach the fault probe"
    "top without CAP_BPF and CAP_PERFMON: names them, exit 2"
    "top on a kernel without BTF: names /sys/kernel/btf/vmlinux, exit 2"
)
skip_all() {
    local c
    for c in "${CASES[@]}"; do e2e_skip "$c" "top: $1"; done
    exit 0
}
[ -x "$HVLAB" ] || skip_all "$HVLAB is not built"
why=$("$HVLAB" top --check 2>&1 >/dev/null)
[ $? -eq 0 ] || skip_all "${why#hvlab top: }"
command -v python3 >/dev/null || skip_all "python3 is missing"

T=$(e2e_tmpdir)
EXE=$(readlink -f "$HVLAB")

# start_stopped OUT ARGS...: run hvlab ARGS in the background (stdout and
# stderr to OUT), stopped as soon as it is hvlab; its pid in $TARGET.
start_stopped() {
    local out=$1; shift
    "$HVLAB" "$@" >"$out" 2>&1 &
    TARGET=$!
    local n=0
    while [ "$(readlink "/proc/$TARGET/exe" 2>/dev/null)" != "$EXE" ]; do
        n=$((n + 1)); [ $n -gt 3000 ] && return 1
        kill -0 "$TARGET" 2>/dev/null || return 1
        sleep 0.01
    done
    kill -STOP "$TARGET"
}

# attach ERR ARGS...: `hvlab top ARGS` in the background (stdout to
# $ERR.out, stderr to ERR), waits until it attached (or failed); pid in $TOP.
attach() {
    local err=$1; shift
    "$HVLAB" top "$@" >"$err.out" 2>"$err" &
    TOP=$!
    local n=0
    until grep -q attached "$err"; do
        kill -0 "$TOP" 2>/dev/null || return 1
        n=$((n + 1)); [ $n -gt 1200 ] && return 1
        sleep 0.05
    done
}

# The last JSON line of a file as d, checked by python statements whose
# last sets ok (one expression, over several lines if need be).
jcheck() {   # FILE CODE
    python3 - "$1" "$2" <<'PY'
import json, sys, textwrap
lines = [l for l in open(sys.argv[1]) if l.startswith('{')]
d = json.loads(lines[-1])
env = {'d': d}
code = textwrap.dedent(sys.argv[2])
at = code.find('ok = ')              # the last statement: one expression
code = code[:at] + 'ok = (' + code[at + 5:] + '\n)'
exec(code, env)
ok = env.get('ok', False)
if not ok:
    print(json.dumps(d)[:1500], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# ---- 1-2: a fork storm, sampled when it ends ---------------------------------
sed 's/iters=60/iters=200/' scenarios/pv-fork-storm.hvl >"$T/storm.hvl"
if start_stopped "$T/storm.out" run "$T/storm.hvl" &&
   attach "$T/top1.err" --pid "$TARGET" --json --interval 3600; then
    kill -CONT "$TARGET"
    wait "$TARGET"; trc=$?
    wait "$TOP"; toprc=$?
    S=$T/top1.err.out
    if [ $trc -eq 0 ] && jcheck "$S" "
        rows = d['hypercalls']
        names = {h['name'] for h in rows if h['count'] > 0}
        ok = rows and all(h['dom'] == 1 for h in rows) and
        {'mmu_update', 'mmuext_op'} <= names"; then
        e2e_ok "${CASES[0]}"
    else
        e2e_notok "${CASES[0]}" "target exit $trc" "$(tail -3 "$T/storm.out")"
    fi
    if jcheck "$S" "
        ok = d['hypercalls'] and all(sum(h['hist']) + h['untimed'] == h['count'] and
                                     len(h['hist']) == 40 and
                                     h['p50_ns'] <= h['p99_ns']
                                     for h in d['hypercalls'])"; then
        e2e_ok "${CASES[1]}"
    else
        e2e_notok "${CASES[1]}"
    fi
    if jcheck "$S" "
        f = d['faults']
        ok = any(x['class'] == 'bounced' and x['count'] > 0 for x in f) and
        all(x['dom'] == 1 for x in f)"; then
        e2e_ok "${CASES[2]}"
    else
        e2e_notok "${CASES[2]}"
    fi
    if [ $toprc -eq 0 ] && [ "$(grep -c '^{' "$S")" -eq 1 ]; then
        e2e_ok "${CASES[3]}"
    else
        e2e_notok "${CASES[3]}" "top exit $toprc" "$(cat "$T/top1.err")"
    fi
else
    for i in 0 1 2 3; do
        e2e_notok "${CASES[$i]}" "could not attach" "$(cat "$T/top1.err" 2>/dev/null)"
    done
    kill -CONT "$TARGET" 2>/dev/null; kill "$TARGET" 2>/dev/null; wait
fi

# ---- 3, 6: a long storm sampled while it runs, then SIGINT -------------------
sed 's/iters=60/iters=400/' scenarios/pv-fork-storm.hvl >"$T/long.hvl"
if start_stopped "$T/long.out" run "$T/long.hvl" &&
   attach "$T/top2.err" --pid "$TARGET" --interval 3600; then
    kill -CONT "$TARGET"
    "$HVLAB" top --pid "$TARGET" --once --json --interval 0.5 >"$T/once.json" 2>"$T/once.err"
    orc=$?
    # A sample of a running process: a row's count is its buckets' sum
    # (T2 holds mid-run: read_sample derives one from the other).
    if [ $orc -eq 0 ] && [ "$(grep -c '^{' "$T/once.json")" -eq 1 ] &&
       jcheck "$T/once.json" "
        rows = d['hypercalls']
        ok = rows and d['pid'] == $TARGET and
        sum(h['count'] for h in rows if h['name'] == 'mmu_update') > 0 and
        all(sum(h['hist']) + h['untimed'] == h['count'] and 'host' in h
            for h in rows)"; then
        e2e_ok "${CASES[4]}"
    else
        e2e_notok "${CASES[4]}" "exit $orc" "$(cat "$T/once.err")"
    fi
    "$HVLAB" top --pid "$TARGET" --once --interval 0.5 --hist mmu_update \
        --entry >"$T/hist.txt" 2>"$T/hist.err"
    hrc=$?
    if [ $hrc -eq 0 ] && grep -q '^host [0-9]* dom 1: [1-9][0-9]* calls' "$T/hist.txt" &&
       grep -q '(8 probes)' "$T/hist.err" &&
       grep -qE '^ +[0-9]+ \.\. [0-9]+ +ns +[0-9]+ \|#' "$T/hist.txt"; then
        e2e_ok "${CASES[5]}"
    else
        e2e_notok "${CASES[5]}" "exit $hrc" "$(head -5 "$T/hist.txt")" "$(cat "$T/hist.err")"
    fi
    kill -INT "$TOP"
    wait "$TOP"; toprc=$?
    wait "$TARGET"; trc=$?
    if [ $toprc -eq 0 ] && [ $trc -eq 0 ] &&
       grep -q 'expectations held - ok' "$T/long.out"; then
        e2e_ok "${CASES[8]}"
    else
        e2e_notok "${CASES[8]}" "top exit $toprc, target exit $trc" \
            "$(tail -3 "$T/long.out")"
    fi
else
    for i in 4 5 8; do e2e_notok "${CASES[$i]}" "could not attach"; done
    kill -CONT "$TARGET" 2>/dev/null; kill "$TARGET" 2>/dev/null; wait
fi

# ---- 4: a live migration ------------------------------------------------------
if start_stopped "$T/mig.out" run scenarios/migrate-live.hvl \
        --inject mig.round.after_clean:delay,ms=1,mode=sleep &&
   attach "$T/top3.err" --pid "$TARGET" --json --interval 3600; then
    kill -CONT "$TARGET"
    wait "$TARGET"; trc=$?
    wait "$TOP"
    fired=$(sed -n 's/.*mig.round.after_clean.*, \([0-9]*\) fired$/\1/p' "$T/mig.out")
    if [ $trc -eq 0 ] && [ -n "$fired" ] && jcheck "$T/top3.err.out" "
        m = d['migration']
        live = [r for r in m if r['kind'] == 'live']
        ver = [r for r in m if r['kind'] == 'verify']
        fin = [r for r in m if r['kind'] == 'final']
        ok = len(m) >= 3 and all(r['dom'] == 1 for r in m) and
        len({r['host'] for r in m}) == 1 and
        sum(r['final'] for r in m) == 1 and len(fin) == 1 and
        fin[0]['final'] and len(ver) == 1 and not ver[0]['final'] and
        ver[0]['dirty_pages_per_s'] == 0 and ver[0]['iter'] > fin[0]['iter'] and
        len(live) + len(fin) + len(ver) == len(m) and live[0]['iter'] == 0 and
        live[0]['sent'] > 0 and
        any(r['dirty_pages_per_s'] > 0 for r in live + fin) and
        [(i['point'], i['action'], i['count']) for i in d['injections']] ==
            [('mig.round.after_clean', 'delay', $fired)]"; then
        e2e_ok "${CASES[6]}"
    else
        e2e_notok "${CASES[6]}" "target exit $trc, fired '$fired'" "$(tail -3 "$T/mig.out")"
    fi
else
    e2e_notok "${CASES[6]}" "could not attach" "$(cat "$T/top3.err" 2>/dev/null)"
    kill -CONT "$TARGET" 2>/dev/null; kill "$TARGET" 2>/dev/null; wait
fi

# ---- 5: grants ----------------------------------------------------------------
sed 's/ops=400/ops=2000/' scenarios/blk-io.hvl >"$T/blk.hvl"
if start_stopped "$T/blk.out" run "$T/blk.hvl" &&
   attach "$T/top4.err" --pid "$TARGET" --json --interval 3600; then
    kill -CONT "$TARGET"
    wait "$TARGET"; trc=$?
    wait "$TOP"
    # dom 1 is the driver domain (declared first): blkback maps the
    # frontend's grants and unmaps each when the request completes.
    if [ $trc -eq 0 ] && jcheck "$T/top4.err.out" "
        g = {x['dom']: x for x in d['grants']}
        ok = 1 in g and g[1]['maps'] > 0 and g[1]['maps'] == g[1]['unmaps'] and
        g[1]['map_errors'] == 0 and 2 not in g"; then
        e2e_ok "${CASES[7]}"
    else
        e2e_notok "${CASES[7]}" "target exit $trc" "$(tail -3 "$T/blk.out")"
    fi
else
    e2e_notok "${CASES[7]}" "could not attach" "$(cat "$T/top4.err" 2>/dev/null)"
    kill -CONT "$TARGET" 2>/dev/null; kill "$TARGET" 2>/dev/null; wait
fi

# ---- 7: not an hvlab process ----------------------------------------------------
sleep 30 &
SLEEPER=$!
"$HVLAB" top --pid "$SLEEPER" --once >"$T/bad.out" 2>"$T/bad.err"
brc=$?
kill "$SLEEPER" 2>/dev/null; wait "$SLEEPER" 2>/dev/null
if [ $brc -eq 2 ] && [ "$(wc -l <"$T/bad.err")" -eq 1 ] &&
   grep -q "process $SLEEPER is not an hvlab running a machine" "$T/bad.err"; then
    e2e_ok "${CASES[9]}"
else
    e2e_notok "${CASES[9]}" "exit $brc" "$(cat "$T/bad.err")"
fi

# ---- 8: hap nested faults ---------------------------------------------------------
if start_stopped "$T/hap.out" run scenarios/migrate-live-hvm.hvl &&
   attach "$T/top5.err" --pid "$TARGET" --json --interval 3600; then
    kill -CONT "$TARGET"
    wait "$TARGET"; trc=$?
    wait "$TOP"
    # Log-dirty under hap: the guest's writes to pages made read-only are
    # nested faults the p2m fixes (npf_fixed).
    if [ $trc -eq 0 ] && jcheck "$T/top5.err.out" "
        f = d['faults']
        ok = any(x['outcome'] == 'npf_fixed' and x['class'] == 'fixed' and
                 x['count'] > 0 and x['host'] == 0 and x['dom'] == 1
                 for x in f)"; then
        e2e_ok "${CASES[10]}"
    else
        e2e_notok "${CASES[10]}" "target exit $trc" "$(tail -3 "$T/hap.out")"
    fi
else
    e2e_notok "${CASES[10]}" "could not attach" "$(cat "$T/top5.err" 2>/dev/null)"
    kill -CONT "$TARGET" 2>/dev/null; kill "$TARGET" 2>/dev/null; wait
fi

# 9. What is missing, named.
if ! command -v setpriv >/dev/null; then
    e2e_skip "${CASES[11]}" "setpriv (util-linux) is missing"
else
    msg=$(setpriv --bounding-set -bpf,-perfmon,-sys_admin -- \
          "$HVLAB" top --check 2>&1); rc=$?
    if [ $rc -eq 2 ] && grep -q "lack CAP_BPF and CAP_PERFMON" <<<"$msg"; then
        e2e_ok "${CASES[11]}"
    elif setpriv --bounding-set -bpf -- true 2>/dev/null; then
        e2e_notok "${CASES[11]}" "exit $rc" "$msg"
    else
        e2e_skip "${CASES[11]}" "setpriv cannot drop capabilities here"
    fi
fi
if ! unshare -m true 2>/dev/null; then
    e2e_skip "${CASES[12]}" "no private mount namespace here (unshare -m)"
else
    msg=$(unshare -m sh -c 'mount -t tmpfs none /sys/kernel/btf || exit 99
                           exec "$0" top --check' "$HVLAB" 2>&1); rc=$?
    if [ $rc -eq 99 ]; then
        e2e_skip "${CASES[12]}" "cannot mount over /sys/kernel/btf here"
    elif [ $rc -eq 2 ] && grep -q "no BTF (/sys/kernel/btf/vmlinux is missing)" <<<"$msg"; then
        e2e_ok "${CASES[12]}"
    else
        e2e_notok "${CASES[12]}" "exit $rc" "$msg"
    fi
fi
exit 0
