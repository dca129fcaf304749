#!/usr/bin/env bash
# tests/scenario/repro.sh - `hvlab repro` replays fuzzer inputs
# (tools/hvlab/cmd_repro.c X1-X5, docs/fuzz.md "Reproducing a finding").
#
#   1. tests/data/fuzz/grant-xsa224 with --set grant.xsa224=on: exit 1,
#      "reproduced: audit: invariant 4 (...) after call 3", the report with
#      the frames' history; the surface comes from the file name.
#   2. The same input without the option: exit 0, "does not reproduce".
#   3. --minimize keeps it failing with the same invariant, writes fewer
#      bytes and calls to --out, and that file reproduces on its own (and
#      still only with the option).
#   4. The surface is inferred from an AFL++ output path (out-grant/...);
#      a path naming none, an unknown --surface, a missing file, an unknown
#      --set key and a --set after nothing are exit 2 naming the mistake.
#   5. A clean program (one query_size) exits 0 on the mm surface.
set -u
cd "$(dirname "$0")/../.."
. tests/scenario/lib/report.sh    # scenario_start, scenario_tmp, report
scenario_start repro
scenario_tmp

IN=tests/data/fuzz/grant-xsa224
INV='audit: invariant 4 (writable type count equals RW mappings)'

out=$("$HVLAB" repro "$IN" --set grant.xsa224=on 2>&1); rc=$?
ok=0
[ $rc -eq 1 ] && grep -qF "reproduced: $INV after call 3" <<<"$out" &&
    grep -q '^ 3: dom1.v0 gnttab_unmap' <<<"$out" &&
    grep -q 'last [0-9]* transitions, newest first' <<<"$out" && ok=1
report $ok "repro: grant-xsa224 with grant.xsa224=on exits 1 naming invariant 4 after call 3, with the frame history" "$out"

out=$("$HVLAB" repro "$IN" 2>&1); rc=$?
ok=0
[ $rc -eq 0 ] && grep -q '^does not reproduce: the program ran 6 calls, the audit is clean$' <<<"$out" && ok=1
report $ok "repro: grant-xsa224 without the option does not reproduce (exit 0)" "$out"

min=$TMP/grant-xsa224.min
out=$("$HVLAB" repro "$IN" --set grant.xsa224=on --minimize --out "$min" 2>&1); rc=$?
ok=0
if [ $rc -eq 1 ] && [ -s "$min" ] &&
   grep -Eq '^minimized: 37 bytes, 6 calls -> [0-9]+ bytes, 2 calls' <<<"$out" &&
   [ "$(stat -c %s "$min")" -lt 37 ] &&
   [ "$(grep -c "reproduced: $INV" <<<"$out")" -eq 2 ]; then
    ok=1
fi
report $ok "repro --minimize: 37 bytes, 6 calls shrink to 2 calls still breaking invariant 4" "$out"

out=$("$HVLAB" repro "$min" --surface grant --set grant.xsa224=on 2>&1); rc=$?
out2=$("$HVLAB" repro "$min" --surface grant 2>&1); rc2=$?
ok=0
[ $rc -eq 1 ] && grep -qF "reproduced: $INV after call 1" <<<"$out" &&
    [ $rc2 -eq 0 ] && ok=1
report $ok "repro: the minimized input reproduces alone with the option, not without" "$out$out2"

mkdir -p "$TMP/out-grant/default/crashes"
cp "$IN" "$TMP/out-grant/default/crashes/id:000000,sig:06"
out=$("$HVLAB" repro "$TMP/out-grant/default/crashes/id:000000,sig:06" \
      --set grant.xsa224=on 2>&1); rc=$?
ok=0
[ $rc -eq 1 ] && grep -q '^program (grant, 37 bytes, 6 calls):' <<<"$out" && ok=1
report $ok "repro: the surface comes from an AFL++ output dir (out-grant)" "$out"

cp "$IN" "$TMP/input"
bad=0 msgs=""
check2() {   # check2 REGEX ARGS...: exit 2 and the message matches
    local re=$1; shift
    local o; o=$("$HVLAB" repro "$@" 2>&1); local r=$?
    msgs+="$* -> $r: $o"$'\n'
    if [ $r -ne 2 ] || ! grep -Eq -- "$re" <<<"$o"; then bad=1; fi
}
check2 'cannot tell the surface .*give --surface' "$TMP/input"
check2 '--surface nope: expected mm, grant, shadow, restore, race or hvmrace' "$TMP/input" --surface nope
check2 "$TMP/no-such-file: No such file" "$TMP/no-such-file" --surface mm
check2 "unknown hypervisor option 'grant.nope'" "$TMP/input" --surface grant --set grant.nope=on
check2 'missing the CRASH file' --surface mm
check2 '--out and --max-runs go with --minimize' "$TMP/input" --surface grant --out x
report "$([ $bad -eq 0 ] && echo 1)" "repro: no surface, unknown surface, missing file, unknown option, no input, --out alone: exit 2 naming it" "$msgs"

printf '\x09\x00\x00\x00\x00' >"$TMP/clean"
out=$("$HVLAB" repro "$TMP/clean" --surface mm 2>&1); rc=$?
ok=0
[ $rc -eq 0 ] && grep -q '^does not reproduce: the program ran 1 calls, the audit is clean$' <<<"$out" && ok=1
report $ok "repro: a clean mm program exits 0" "$out"

out=$("$HVLAB" repro "$IN" --set grant.xsa224=on --minimize --max-runs 5 \
      --out "$TMP/bounded.min" 2>&1); rc=$?
ok=0
[ $rc -eq 1 ] && grep -q 'minimization stopped by the bound of 5 runs' <<<"$out" &&
    grep -q '(5 runs)' <<<"$out" && [ -s "$TMP/bounded.min" ] && ok=1
report $ok "repro --minimize --max-runs 5: the bound stops it and says so" "$out"

name="repro --trace: the replay is recorded and still names the invariant"
if ! command -v babeltrace2 >/dev/null || ! { lttng list >/dev/null 2>&1 ||
     lttng-sessiond --no-kernel --daemonize >/dev/null 2>&1; }; then
    echo "skip - $name: no babeltrace2 or LTTng session daemon"
else
    out=$("$HVLAB" repro "$IN" --set grant.xsa224=on --trace "$TMP/tr" 2>&1); rc=$?
    ok=0
    [ $rc -eq 1 ] && grep -qF "reproduced: $INV after call 3" <<<"$out" &&
        babeltrace2 "$TMP/tr" 2>/dev/null | grep -q 'hvlab_grant' && ok=1
    report $ok "$name" "$out"
fi

# The mm (and one grant) bug zoo (docs/bugzoo.md): each hand-written PoC reproduces with its
# option on (exit 1, naming the invariant or isolation check) and not
# without it (exit 0).
zoo() {   # zoo NAME OPTION EXPECTED-TEXT [SURFACE, default mm]
    local f=tests/data/fuzz/$1 o o2 r r2 ok=0 s=${4:-mm}
    o=$("$HVLAB" repro "$f" --surface "$s" --set "$2=on" 2>&1); r=$?
    o2=$("$HVLAB" repro "$f" --surface "$s" 2>&1); r2=$?
    [ $r -eq 1 ] && grep -qF "reproduced: $3" <<<"$o" && [ $r2 -eq 0 ] &&
        grep -q '^does not reproduce: .* the audit is clean$' <<<"$o2" && ok=1
    report $ok "repro: $1 reproduces with $2=on ($3), not without" "$o$o2"
}
zoo mm-xsa182 mm.xsa182 'isolation: writable page-table mapping after call 0'
zoo mm-xsa148 mm.xsa148 'audit: invariant 9 (validated table entries are well-formed) after call 0'
zoo mm-xsa240 mm.xsa240 'audit: invariant 10 (linear count'
# The same with the world's two L2s (fuzz/world.c W9): one call, two items.
zoo mm-xsa240-l2 mm.xsa240 'audit: invariant 10 (linear count'
# XSA-234 through unmap_and_replace (fuzz/call.c CA12).
zoo grant-xsa234 grant.xsa234 'grant audit: invariant 26' grant

# XSA-309 needs a preempted validation: both runs set mm.preempt_budget=2.
f=tests/data/fuzz/mm-xsa309
o=$("$HVLAB" repro "$f" --surface mm --set mm.preempt_budget=2 --set mm.xsa309=on 2>&1); r=$?
o2=$("$HVLAB" repro "$f" --surface mm --set mm.preempt_budget=2 2>&1); r2=$?
ok=0
[ $r -eq 1 ] && grep -qF 'reproduced: audit: invariant 10 (linear count' <<<"$o" &&
    grep -qF 'linear entries found 1, linear_pt_count 0' <<<"$o" && [ $r2 -eq 0 ] &&
    grep -q '^does not reproduce: .* the audit is clean$' <<<"$o2" && ok=1
report $ok "repro: mm-xsa309 reproduces with mm.xsa309=on and a preemption budget (invariant 10), not without the option" "$o$o2"

# The same with the world's second L2 (fuzz/world.c W9): its linear entry
# written, unhooked, pinned again under the budget.
f=tests/data/fuzz/mm-xsa309-l2
o=$("$HVLAB" repro "$f" --surface mm --set mm.preempt_budget=2 --set mm.xsa309=on 2>&1); r=$?
o2=$("$HVLAB" repro "$f" --surface mm --set mm.preempt_budget=2 2>&1); r2=$?
ok=0
[ $r -eq 1 ] && grep -qF 'reproduced: audit: invariant 10 (linear count after call 1' <<<"$o" &&
    [ $r2 -eq 0 ] && grep -q '^does not reproduce: .* the audit is clean$' <<<"$o2" && ok=1
report $ok "repro: mm-xsa309-l2 (the world's second L2) reproduces with mm.xsa309=on and a preemption budget, not without the option" "$o$o2"

# XSA-279 is a host crash: with mm.xsa279 the replay dies of SIGABRT (exit
# 134) naming the fatal #GP; without it the PoC is clean.
f=tests/data/fuzz/mm-xsa279
o=$("$HVLAB" repro "$f" --surface mm --set mm.xsa279=on 2>&1); r=$?
o2=$("$HVLAB" repro "$f" --surface mm 2>&1); r2=$?
ok=0
[ $r -eq 134 ] &&
    grep -qF 'FATAL TRAP: #GP[0] in the hypervisor: INVPCID of non-canonical address 0x800000000000' <<<"$o" &&
    [ $r2 -eq 0 ] && grep -q '^does not reproduce: .* the audit is clean$' <<<"$o2" && ok=1
report $ok "repro: mm-xsa279 crashes the host (SIGABRT, fatal #GP) with mm.xsa279=on, not without" "$o$o2"

# A read-only L4 self-map is no isolation breach (the check skips Xen's
# slots in every L4 frame, also one reached as a lower level).
out=$("$HVLAB" repro tests/data/fuzz/mm-l4-selfmap --surface mm 2>&1); rc=$?
ok=0
[ $rc -eq 0 ] && grep -q '^does not reproduce: .* the audit is clean$' <<<"$out" && ok=1
report $ok "repro: a read-only L4 self-map is not reported as a foreign frame" "$out"

# A program that maps its own grant-entry frame over its argument buffer
# would have Xen write its results into the entries; the well-behaved
# granter (fuzz/call.c CA5) skips such calls, so invariant 24 judges the
# hypervisor, not the guest's scribbles (found by the smoke run in CI).
out=$("$HVLAB" repro tests/data/fuzz/grant-buffer-on-grant-frame --surface grant 2>&1); rc=$?
ok=0
[ $rc -eq 0 ] && grep -q '^does not reproduce: .* the audit is clean$' <<<"$out" && ok=1
report $ok "repro: a grant frame mapped over the argument buffer is not a hypervisor finding" "$out"

# A crashed domain runs nothing (fuzz/call.c CA6): dom1 gives back its
# loaded root (crashed for it, as Xen's sh_remove_all_shadows_and_parents
# does), then its vCPUs load other roots; Xen never runs them again, so the
# fuzzer does not either, and the given-back root is not freed while
# shadowed (found by the snap-reset campaign, two inputs).
for f in shadow-crashed-cr3-a shadow-crashed-cr3-b; do
    out=$("$HVLAB" repro tests/data/fuzz/$f 2>&1); rc=$?
    ok=0
    [ $rc -eq 0 ] && grep -q '^does not reproduce: .* the audit is clean$' <<<"$out" && ok=1
    report $ok "repro: $f: a crashed domain's CR3 loads are not run, the shadow audit stays clean" "$out"
done

# A regression input that must replay clean: no finding, the audit clean.
replays_clean() {
    local out rc ok=0
    out=$("$HVLAB" repro "$1" 2>&1); rc=$?
    [ $rc -eq 0 ] && grep -q '^does not reproduce: .* the audit is clean$' <<<"$out" && ok=1
    report $ok "$2" "$out"
}

# The well-behaved granter keeps the domid of an entry in use (CA5): Xen
# keeps using act->domid, and public grant_table.h has a guest never change
# an in-use entry, so invariant 24 judges the hypervisor.
replays_clean tests/data/fuzz/grant-pinned-entry-domid "repro: grant-pinned-entry-domid: the granter does not rename the grantee of a pinned entry"

# A granter that gives back its own grant-table frame (decrease_reservation)
# only detaches it (core/mm/alloc.c A8): its table keeps the frame, which
# no other domain's setup_table can be handed, so invariant 24 holds.
replays_clean tests/data/fuzz/grant-decrease-grant-frame "repro: grant-decrease-grant-frame: a given-back grant frame stays its table's"

# dom0's MMU_MACHPHYS_UPDATE with an HVM FD is refused (core/mm/mmu_update.c
# rule 5), so the M2P keeps naming the HVM guest's gfn: p2m invariant M3.
replays_clean tests/data/fuzz/hvmrace-machphys-translated "repro: hvmrace-machphys-translated: no M2P update for a translated domain"

# A read-only L1 shadow entry whose D the guest's walk set through another
# role of the same table is allowed (core/shadow/audit.c invariant 15).
replays_clean tests/data/fuzz/hvmrace-shadow-lost-dirty "repro: hvmrace-shadow-lost-dirty: a read-only shadow entry may lack D"

replays_clean tests/data/fuzz/shadow-partial-clean "repro: shadow-partial-clean: a CLEAN of fewer pages leaves its bits counted"

# The HVM race stories (docs/bugzoo.md, fuzz/hvmrace.h): the surface comes
# from the file name, the option makes the input reproduce, its fix not.
hvmrace() {   # hvmrace NAME OPTION=VALUE EXPECTED-TEXT
    local f=tests/data/fuzz/$1 o o2 r r2 ok=0
    o=$("$HVLAB" repro "$f" --set "$2" 2>&1); r=$?
    o2=$("$HVLAB" repro "$f" 2>&1); r2=$?
    [ $r -eq 1 ] && grep -qF "reproduced: $3" <<<"$o" &&
        grep -q '^racing: dom[01].s vCPUs 0 and 1$' <<<"$o" && [ $r2 -eq 0 ] &&
        grep -q '^does not reproduce: .* the audit is clean$' <<<"$o2" && ok=1
    report $ok "repro: $1 reproduces with $2 ($3), not without" "$o$o2"
}
hvmrace hvmrace-oos-fastpath shadow.fastpath_oos=racy 'race: not-present fault for a present guest entry after call 4'
hvmrace hvmrace-p2m-paging p2m.lock=none 'race: stale foreign map after call 5'
hvmrace hvmrace-p2m-sharing p2m.lock=none 'race: stale foreign map after call 1'
