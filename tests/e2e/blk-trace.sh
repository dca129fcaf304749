#!/usr/bin/env bash
# tests/e2e/blk-trace.sh - the PV split block driver seen from a real LTTng
# trace (docs/blk.md): `hvlab run scenarios/blk-io.hvl --trace DIR`, read
# back with babeltrace2.  Every check counts events, never hvlab's own
# counters (the report gives only the ops and the domids):
#
#   1. hvlab_guest:blk_submit and blk_complete (status 0) each number the
#      requests the run reports completed.
#   2. Every successful hvlab_grant:map has its unmap (by ldom/handle, a
#      handle unmapped only while mapped) by the end of the trace.
#   3. G27 (core/grant/private.h): every successful writable unmap (no
#      GNTMAP_readonly) of the frontend's frames goes with a
#      hvlab_grant:mark_dirty of that rdom/ref/frame on the same thread,
#      within the same unmap operation.  hvlab emits the dirty mark inside
#      the unmap, before the unmap event itself (which closes the
#      operation); the check accepts either order but no other unmap of
#      that thread in between.
#   4. hvlab_evtchn:set_pending and upcall events exist for both domains.
#   5. No hvlab_grant:pte_refused.
# A few seconds in all.  Skipped, by name, without an LTTng session daemon
# or babeltrace2.
set -u
. "$(dirname "$0")/lib/common.sh"
HVLAB=$BUILD/hvlab
cd "$E2E_ROOT"
NAMES=("blk-io trace: blk_submit and blk_complete number the ops the run reports"
       "blk-io trace: every grant map is unmapped by the end (ldom/handle)"
       "blk-io trace: every writable unmap of the frontend's frames is marked dirty (G27)"
       "blk-io trace: set_pending and upcall events for both domains"
       "blk-io trace: no pte_refused")
skip_all() { local n; for n in "${NAMES[@]}"; do e2e_skip "$n" "$1"; done; exit 0; }

if [ ! -x "$HVLAB" ]; then
    e2e_notok "${NAMES[0]}" "$HVLAB is not built (make)"
    exit 1
fi
e2e_sessiond || skip_all "no LTTng session daemon could be started"
command -v babeltrace2 >/dev/null || skip_all "no babeltrace2"
T=$(e2e_tmpdir)

if ! "$HVLAB" run scenarios/blk-io.hvl --trace "$T/trace" >"$T/run.out" 2>&1; then
    if grep -qi "lttng" "$T/run.out"; then
        skip_all "LTTng could not record: $(grep -i -m1 lttng "$T/run.out")"
    fi
    e2e_notok "${NAMES[0]}" "hvlab run failed:" "$(tail -n 15 "$T/run.out")"
    exit 1
fi
ops=$(sed -n 's/.*blkfront: \([0-9]*\) requests completed OK.*/\1/p' "$T/run.out" | head -n 1)
fe=$(sed -n "s/^  dom\([0-9]*\) '[^']*': .* blk-io backend=dom\([0-9]*\) .*/\1/p" "$T/run.out" | head -n 1)
be=$(sed -n "s/^  dom\([0-9]*\) '[^']*': .* blk-io backend=dom\([0-9]*\) .*/\2/p" "$T/run.out" | head -n 1)
if [ -z "$ops" ] || [ -z "$fe" ] || [ -z "$be" ]; then
    e2e_notok "${NAMES[0]}" "the report names no ops or domains:" "$(cat "$T/run.out")"
    exit 1
fi

# One pass over the events; prints "key value" lines.
babeltrace2 "$T/trace" 2>"$T/bt.err" | awk -v FE="$fe" '
function hex(s,   n, i) {
    s = tolower(s); sub(/^0x/, "", s); n = 0
    for (i = 1; i <= length(s); i++)
        n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return n
}
function field(k,   m) {
    if (!match(pl, k " = [0-9A-Fa-fx]+")) return ""
    m = substr(pl, RSTART, RLENGTH); sub(/.* = /, "", m); return m
}
{
    if (!match($0, / hvlab_[a-z_]+:[a-z_]+: /)) next
    ev = substr($0, RSTART + 1, RLENGTH - 3)
    tid = $0; sub(/.*vtid = /, "", tid); sub(/[^0-9].*/, "", tid)
    pl = $0; sub(/.*\}, \{ /, "", pl)
    n[ev]++
    if (ev == "hvlab_guest:blk_complete" && field("status") == "0")
        ok++
    else if (ev == "hvlab_grant:map" && field("status") == "0") {
        k = field("ldom") "/" field("handle")
        if (k in live) dup++
        live[k] = 1
    } else if (ev == "hvlab_grant:unmap" && field("status") == "0") {
        k = field("ldom") "/" field("handle")
        if (!(k in live)) stray++
        delete live[k]
        if (await[tid] != "") { undirtied++; bad = bad " " await[tid]; delete await[tid] }
        if (field("rdom") == FE && int(hex(field("flags")) / 4) % 2 == 0) {
            wun++
            d = field("rdom") "/" field("ref") "/" tolower(field("mfn"))
            if (dirty[tid] == d) delete dirty[tid]
            else await[tid] = d
        }
        delete dirty[tid]
    } else if (ev == "hvlab_grant:mark_dirty") {
        d = field("rdom") "/" field("ref") "/" tolower(field("mfn"))
        if (await[tid] == d) delete await[tid]
        else dirty[tid] = d
    } else if (ev == "hvlab_evtchn:set_pending")
        sp[field("dom")]++
    else if (ev == "hvlab_evtchn:upcall")
        up[field("dom")]++
}
END {
    for (t in await) { if (await[t] != "") { undirtied++; bad = bad " " await[t] } }
    nl = 0; for (k in live) { nl++; if (nl <= 5) lv = lv " " k }
    printf "submit %d\ncomplete %d\ncomplete_ok %d\n", n["hvlab_guest:blk_submit"], \
        n["hvlab_guest:blk_complete"], ok
    printf "maps %d\nunmaps %d\nlive %d%s\nstray_unmaps %d\ndup_maps %d\n", \
        n["hvlab_grant:map"], n["hvlab_grant:unmap"], nl, lv, stray, dup
    printf "writable_unmaps %d\nmark_dirty %d\nundirtied %d%s\n", wun, \
        n["hvlab_grant:mark_dirty"], undirtied, bad
    printf "pte_refused %d\n", n["hvlab_grant:pte_refused"]
    for (x in sp) printf "set_pending_dom%s %d\n", x, sp[x]
    for (x in up) printf "upcall_dom%s %d\n", x, up[x]
}' >"$T/facts"
get() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$T/facts"; }
facts="$(cat "$T/facts")"

# 1
if [ "$(get submit)" -eq "$ops" ] && [ "$(get complete)" -eq "$ops" ] &&
   [ "$(get complete_ok)" -eq "$ops" ]; then
    e2e_ok "${NAMES[0]} ($ops)"
else
    e2e_notok "${NAMES[0]}" "the run reports $ops ops; the trace:" "$facts" "$(head -n 3 "$T/bt.err")"
fi
# 2
if [ "$(get maps)" -gt 0 ] && [ "$(get live)" -eq 0 ] &&
   [ "$(get stray_unmaps)" -eq 0 ] && [ "$(get dup_maps)" -eq 0 ]; then
    e2e_ok "${NAMES[1]} ($(get maps) maps)"
else
    e2e_notok "${NAMES[1]}" "$facts"
fi
# 3
if [ "$(get writable_unmaps)" -gt 0 ] && [ "$(get undirtied)" -eq 0 ]; then
    e2e_ok "${NAMES[2]} ($(get writable_unmaps) writable unmaps)"
else
    e2e_notok "${NAMES[2]}" "$facts"
fi
# 4
if [ "$(get set_pending_dom$fe)" -gt 0 ] && [ "$(get set_pending_dom$be)" -gt 0 ] &&
   [ "$(get upcall_dom$fe)" -gt 0 ] && [ "$(get upcall_dom$be)" -gt 0 ]; then
    e2e_ok "${NAMES[3]} (dom$fe, dom$be)"
else
    e2e_notok "${NAMES[3]}" "frontend dom$fe, backend dom$be; the trace:" "$facts"
fi
# 5
if [ "$(get pte_refused)" -eq 0 ]; then
    e2e_ok "${NAMES[4]}"
else
    e2e_notok "${NAMES[4]}" "$facts"
fi
exit 0
