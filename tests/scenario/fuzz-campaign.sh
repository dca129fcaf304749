#!/usr/bin/env bash
# tests/scenario/fuzz-campaign.sh - `hvlab fuzz`: AFL++ campaigns, their
# combined status and crash announcements (tools/hvlab/cmd_fuzz.c F1-F9,
# campaign.c G1-G8, docs/fuzz-campaign.md).
#
#   1. Usage errors are exit 2 naming the mistake: an unknown surface
#      (listing the valid ones), an unknown --set key, --status on a
#      missing directory, --json without --status, afl-fuzz missing
#      ("make deps"), the harness missing ("make fuzz").
#   2. A stand-in afl-fuzz (HVLAB_AFL_FUZZ, a script writing fuzzer_stats
#      and a crash file) - no AFL++ needed: -j 2 starts main (-M) and s1
#      (-S, with -c when a cmplog build exists) with HVLAB_FUZZ_SET from
#      --set; the crash is announced with its path and the replay line;
#      --duration stops it, the final table and summary, exit 1.
#      --status / --status --json read the dir back; a second run resumes
#      (-i -); --secondaries-only names instances HOST-sN; an instance
#      that exits at once is "did not start", exit 2 with its log.
#   2b. Review findings: instances dying on their own (exit 2, named, log
#      tails), also with SIGCHLD inherited ignored; SIGINT to a running
#      campaign (clean stop, no process left); an instance ignoring SIGINT
#      (SIGKILL after 10 s); other hosts' instances judged by stats age;
#      garbled stats ("?", null, saturated totals); --secondaries-only
#      refusing another surface/--set; ./hvlab and quoting in replay and
#      triage lines; 5000 old crash files skipped (no 4096 limit); race in
#      the help and docs; a race surface's instances get the mutator and
#      -Z (F10, F11), grant's -Z only, mm's neither.
#   3. With AFL++ and `make fuzz`'s harnesses (nothing is built here; skip
#      when absent): 2 instances on mm for 15 s, main + s1 in the sync
#      dir, the table and summary, exit 0; --status --json parses.
set -u
cd "$(dirname "$0")/../.."
. tests/scenario/lib/report.sh    # scenario_start, scenario_tmp, report
scenario_start fuzz-campaign
scenario_tmp

# ---- 1. usage errors --------------------------------------------------------
bad=0 msgs=""
check2() {   # check2 REGEX ARGS...: exit 2 and the message matches
    local re=$1; shift
    local o; o=$("$HVLAB" fuzz "$@" 2>&1); local r=$?
    msgs+="$* -> $r: $o"$'\n'
    if [ $r -ne 2 ] || ! grep -Eq -- "$re" <<<"$o"; then bad=1; fi
}
check2 "unknown surface 'nope': expected one of mm, grant, shadow, restore, race" nope
check2 "--set mm.nope=on: unknown hypervisor option 'mm.nope'" mm --set mm.nope=on
check2 "--status $TMP/none: No such file or directory" --status "$TMP/none"
check2 '--json goes with --status' mm --json
check2 'missing the SURFACE' -j 2
mkdir -p "$TMP/empty"
check2 'no afl-fuzz instance there' --status "$TMP/empty"
o=$(HVLAB_AFL_FUZZ=$TMP/no-afl "$HVLAB" fuzz mm --out "$TMP/x" 2>&1); r=$?
msgs+="no afl -> $r: $o"$'\n'
{ [ $r -eq 2 ] && grep -q "AFL++ is not installed.*run 'make deps'" <<<"$o"; } || bad=1
mkdir -p "$TMP/noharness"
o=$(HVLAB_AFL_FUZZ=/bin/true HVLAB_FUZZ_HARNESS_DIR=$TMP/noharness \
    "$HVLAB" fuzz grant --out "$TMP/x" 2>&1); r=$?
msgs+="no harness -> $r: $o"$'\n'
{ [ $r -eq 2 ] && grep -q "afl-grant is not built: run 'make fuzz'" <<<"$o"; } || bad=1
report "$([ $bad -eq 0 ] && echo 1)" "fuzz: unknown surface, unknown option, missing status dir, stray --json, no surface, no afl-fuzz, no harness: exit 2 naming it" "$msgs"

# ---- 2. a stand-in afl-fuzz ----------------------------------------------------
FAKE=$TMP/fake
mkdir -p "$FAKE/h"
cat >"$FAKE/afl-fuzz" <<'FAKE_EOF'
#!/usr/bin/env bash
# Stands in for afl-fuzz: one instance's files, a crash on request.
args="$*" out= name= resume=0
while [ $# -gt 0 ]; do
    case $1 in
    -o) out=$2; shift ;;
    -M|-S) name=$2; shift ;;
    -i) [ "$2" = - ] && resume=1; shift ;;
    -x|-c) shift ;;
    --) break ;;
    esac
    shift
done
d=$out/$name
[ -n "${FAKE_AFL_FAIL:-}" ] && { echo "[-] PROGRAM ABORT : cannot start"; exit 1; }
mkdir -p "$d/queue" "$d/crashes" "$d/hangs"
echo "$args" >"$d/args"
echo "HVLAB_FUZZ_SET=${HVLAB_FUZZ_SET-unset} AFL_NO_UI=${AFL_NO_UI-} resume=$resume mutator=${AFL_CUSTOM_MUTATOR_LIBRARY-none}" >"$d/env"
execs=0
stats() {
    local now; now=$(date +%s)
    printf '%-17s : %s\n' start_time "$now" last_update "$now" run_time 1 \
        fuzzer_pid $$ execs_done "$execs" execs_per_sec 100.00 \
        corpus_count 3 saved_crashes "$(ls "$d/crashes" | grep -c '^id:')" \
        saved_hangs 0 stability 100.00% last_find "$now" >"$d/fuzzer_stats.tmp"
    mv "$d/fuzzer_stats.tmp" "$d/fuzzer_stats"
}
trap 'stats; exit 0' INT
[ -n "${FAKE_AFL_IGNORE_INT:-}" ] && trap '' INT
stats
if [ -n "${FAKE_AFL_CRASH:-}" ] && [ "$name" = main ]; then
    printf '\x09\x00\x00\x00\x00' >"$d/crashes/id:${FAKE_AFL_CRASH_ID:-000000},sig:06,src:000000,op:havoc,rep:2"
fi
if [ -n "${FAKE_AFL_DIE:-}" ]; then
    sleep 0.5
    echo "[-] fake: $name dies on its own"
    [ "$name" = main ] && exit 3
    kill -KILL $$
fi
while :; do execs=$((execs + 100)); stats; sleep 0.2; done
FAKE_EOF
chmod +x "$FAKE/afl-fuzz"
printf '#!/bin/sh\nexit 0\n' >"$FAKE/h/afl-mm"
printf '#!/bin/sh\nexit 0\n' >"$FAKE/h/cmplog-mm"
chmod +x "$FAKE/h/afl-mm" "$FAKE/h/cmplog-mm"
fake() { HVLAB_AFL_FUZZ=$FAKE/afl-fuzz HVLAB_FUZZ_HARNESS_DIR=$FAKE/h "$@"; }

D=$TMP/camp-mm
out=$(fake env FAKE_AFL_CRASH=1 "$HVLAB" fuzz mm -j 2 --out "$D" --duration 2 \
      --set mm.xsa182=on 2>&1); rc=$?
crash="$D/main/crashes/id:000000,sig:06,src:000000,op:havoc,rep:2"
ok=0
[ $rc -eq 1 ] && grep -qF "crash: $crash" <<<"$out" &&
    grep -qF "replay: $HVLAB repro $crash --set mm.xsa182=on" <<<"$out" &&
    grep -q '^--duration 2 s reached' <<<"$out" &&
    grep -q '^stopping: SIGINT to 2 afl-fuzz instances' <<<"$out" &&
    grep -Eq '^main +stopped +[0-9]+ ' <<<"$out" &&
    grep -Eq '^s1 +stopped ' <<<"$out" && grep -Eq '^total +stopped ' <<<"$out" &&
    grep -q '^summary: mm, 2 instances, .* 1 new crash (1 in ' <<<"$out" &&
    grep -q -- '-M main ' "$D/main/args" && grep -q -- '-S s1 .*-c ' "$D/s1/args" &&
    ! grep -q -- '-c ' "$D/main/args" && grep -q -- "-x .*fuzz/dict/mm.dict" "$D/main/args" &&
    grep -q 'HVLAB_FUZZ_SET=mm.xsa182=on AFL_NO_UI=1 resume=0' "$D/s1/env" && ok=1
report $ok "fuzz (stand-in afl-fuzz): -j 2 runs main + s1 (CMPLOG), announces the crash with its replay line, stops at --duration, exit 1" "$out"

# The replay line works (the crash is a clean one-call mm program).
line=$(sed -n 's/^  replay: //p' <<<"$out" | head -n 1)
o=$(eval "$line" 2>&1); r=$?
ok=0
[ $r -eq 0 ] && grep -q '^program (mm, 5 bytes' <<<"$o" && ok=1
report $ok "fuzz: the announced replay line runs hvlab repro on the crash" "$line"$'\n'"$o"

out=$("$HVLAB" fuzz --status "$D" 2>&1); rc=$?
ok=0
[ $rc -eq 1 ] && grep -q "^campaign $D (mm, mm.xsa182=on)" <<<"$out" &&
    grep -Eq '^main +stopped +[0-9]+ +100.0 +3 +1 +0 +100.00%' <<<"$out" &&
    grep -Eq '^total +stopped ' <<<"$out" && ok=1
report $ok "fuzz --status: the table of a finished campaign (exit 1: it holds a crash)" "$out"

json=$("$HVLAB" fuzz --status "$D" --json 2>&1)
ok=0
if command -v python3 >/dev/null; then
    python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["surface"] == "mm" and j["sets"] == "mm.xsa182=on", j
assert [i["name"] for i in j["instances"]] == ["main", "s1"], j
assert j["total"]["crashes"] == 1 and len(j["crash_files"]) == 1, j
assert j["instances"][0]["stability"] == 100.0, j
' <<<"$json" && ok=1
else
    grep -q '"instances": \[{"name": "main"' <<<"$json" && ok=1
fi
report $ok "fuzz --status --json: one object with the instances, total and crash files" "$json"

out=$(fake "$HVLAB" fuzz mm -j 2 --out "$D" --duration 1 2>&1); rc=$?
ok=0
[ $rc -eq 1 ] && grep -q 'main .*resuming its queue (-i -)' <<<"$out" &&
    grep -q '1 crash from before' <<<"$out" &&
    grep -q 'resume=1' "$D/main/env" && grep -q 'HVLAB_FUZZ_SET=unset' "$D/main/env" &&
    grep -q '0 new crashes (1 in ' <<<"$out" && ok=1
report $ok "fuzz: a second run on the same sync dir resumes each queue (-i -) and says so" "$out"

host=$(hostname | tr -c 'A-Za-z0-9_\n-' _)
out=$(fake "$HVLAB" fuzz mm -j 2 --out "$TMP/shared" --duration 1 --secondaries-only 2>&1); rc=$?
ok=0
[ $rc -eq 0 ] && [ -d "$TMP/shared/${host:0:40}-s1" ] && [ -d "$TMP/shared/${host:0:40}-s2" ] &&
    [ ! -d "$TMP/shared/main" ] && grep -q -- '-S ' "$TMP/shared/${host:0:40}-s1/args" &&
    ! grep -q -- '-c ' "$TMP/shared/${host:0:40}-s1/args" && ok=1
report $ok "fuzz --secondaries-only: all instances are -S named HOST-sN, exit 0 without crashes" "$out"

out=$(fake env FAKE_AFL_FAIL=1 "$HVLAB" fuzz mm --out "$TMP/fail" --duration 5 2>&1); rc=$?
ok=0
[ $rc -eq 2 ] && grep -q 'afl-fuzz instance main did not start (exit status 1)' <<<"$out" &&
    grep -q 'PROGRAM ABORT : cannot start' <<<"$out" && ok=1
report $ok "fuzz: an instance that exits at once did not start: exit 2 with its log" "$out"

# ---- 2b. review findings -------------------------------------------------------
# Instances dying on their own: exit 2, each named with its log's tail.
die_check() {   # die_check OUT RC
    [ "$2" -eq 2 ] && grep -q 'afl-fuzz instance main exited on its own (exit status 3)' <<<"$1" &&
        grep -q 'afl-fuzz instance s1 exited on its own (killed by signal 9)' <<<"$1" &&
        grep -q 'fake: main dies on its own' <<<"$1" && grep -q 'fake: s1 dies on its own' <<<"$1" &&
        grep -q '^failed: 2 instances exited on its own: main s1' <<<"$1" &&
        ! grep -q 'did not stop' <<<"$1"
}
out=$(fake env FAKE_AFL_DIE=1 "$HVLAB" fuzz mm -j 2 --out "$TMP/die" --duration 20 2>&1); rc=$?
ok=0; die_check "$out" $rc && ok=1
report $ok "fuzz: every instance dying on its own (exit 3, SIGKILL) is exit 2, each named with its log's tail" "$out"

# The same with SIGCHLD ignored by hvlab's parent: statuses still known.
ign() { python3 -c 'import os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"; }
if command -v python3 >/dev/null; then
    t0=$SECONDS
    out=$(fake ign env FAKE_AFL_DIE=1 "$HVLAB" fuzz mm -j 2 --out "$TMP/die-ign" --duration 20 2>&1); rc=$?
    ok=0; die_check "$out" $rc && [ $((SECONDS - t0)) -lt 8 ] && ok=1
    report $ok "fuzz: with SIGCHLD inherited ignored, dying instances are still seen (exit 2, at once)" "$out"
    t0=$SECONDS
    out=$(fake ign "$HVLAB" fuzz mm -j 2 --out "$TMP/ign" --duration 1 2>&1); rc=$?
    ok=0
    [ $rc -eq 0 ] && ! grep -q 'did not stop' <<<"$out" && [ $((SECONDS - t0)) -lt 8 ] &&
        grep -q '^summary: mm, 2 instances' <<<"$out" && ok=1
    report $ok "fuzz: with SIGCHLD inherited ignored, --duration stops cleanly (no SIGKILL)" "$out"
fi

# SIGINT to a running campaign: clean stop, final table, nothing left.
no_leftovers() {   # no_leftovers DIR NAME...: each instance's group is gone
    local n pid      # (zombies do not count: reaping orphans is init's job,
    for n in "${@:2}"; do   # and a container's init may never do it)
        pid=$(sed -n 's/^fuzzer_pid *: //p' "$1/$n/fuzzer_stats")
        [ -n "$pid" ] || return 1
        ps -eo pgid=,stat= | awk -v g="$pid" '$1 == g && $2 !~ /^Z/ { f = 1 }
            END { exit !f }' && return 1
    done
    return 0
}
wait_files() { local i; for i in $(seq 100); do ls "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
I=$TMP/int
env HVLAB_AFL_FUZZ="$FAKE/afl-fuzz" HVLAB_FUZZ_HARNESS_DIR="$FAKE/h" \
    "$HVLAB" fuzz mm -j 2 --out "$I" >"$TMP/int.out" 2>&1 & hp=$!
wait_files "$I/main/fuzzer_stats" "$I/s1/fuzzer_stats"; sleep 0.5
kill -INT $hp; wait $hp; rc=$?
out=$(cat "$TMP/int.out")
ok=0
[ $rc -eq 0 ] && grep -q '^SIGINT: stopping the campaign' <<<"$out" &&
    grep -q '^stopping: SIGINT to 2 afl-fuzz instances' <<<"$out" &&
    grep -Eq '^main +stopped ' <<<"$out" && grep -Eq '^s1 +stopped ' <<<"$out" &&
    grep -q '^summary: mm, 2 instances' <<<"$out" && ! grep -q 'did not stop' <<<"$out" &&
    no_leftovers "$I" main s1 && ok=1
report $ok "fuzz: SIGINT stops a running campaign cleanly: the final table, exit 0, no process left" "$out"

# An instance ignoring SIGINT: SIGKILL to its group after 10 s.
K=$TMP/kill
t0=$SECONDS
env HVLAB_AFL_FUZZ="$FAKE/afl-fuzz" HVLAB_FUZZ_HARNESS_DIR="$FAKE/h" FAKE_AFL_IGNORE_INT=1 \
    "$HVLAB" fuzz mm --out "$K" >"$TMP/kill.out" 2>&1 & hp=$!
wait_files "$K/main/fuzzer_stats"; sleep 0.3
kill -INT $hp; wait $hp; rc=$?
out=$(cat "$TMP/kill.out")
ok=0
[ $rc -eq 0 ] && grep -q '^main did not stop in 10 s: SIGKILL' <<<"$out" &&
    grep -Eq '^main +stopped ' <<<"$out" && [ $((SECONDS - t0)) -lt 25 ] &&
    no_leftovers "$K" main && ok=1
report $ok "fuzz: an instance ignoring SIGINT is killed with its group after 10 s, then the summary" "$out"

# Another host's instance (its pid means nothing here) runs while its
# stats are fresh; this host's with a dead pid is stopped.
H=$TMP/hosts
sleep 0 & dead=$!; wait $dead
now=$(date +%s)
for n in other-s1 other-s2 "${host:0:40}-s1" old; do
    mkdir -p "$H/$n"
    upd=$now; [ "$n" = other-s2 ] && upd=$((now - 600))
    printf '%-17s : %s\n' last_update "$upd" fuzzer_pid "$dead" execs_done 5 >"$H/$n/fuzzer_stats"
done
mkdir -p "$H/.hvlab"; echo elsewhere >"$H/.hvlab/old.host"
out=$("$HVLAB" fuzz --status "$H" 2>&1); rc=$?
ok=0
[ $rc -eq 0 ] && grep -Eq '^other-s1 +running ' <<<"$out" && grep -Eq '^other-s2 +stopped ' <<<"$out" &&
    grep -Eq "^${host:0:40}-s1 +stopped " <<<"$out" && grep -Eq '^old +running ' <<<"$out" && ok=1
report $ok "fuzz --status: other hosts' instances (NAME.host, HOST-sN) judged by their stats' age, local ones by their pid" "$out"

# Garbled fuzzer_stats: "?" / null, valid JSON, a saturated total.
G=$TMP/garbled
mkdir -p "$G/a" "$G/b"
printf '%-17s : %s\n' execs_done -5 execs_per_sec nan corpus_count 12abc saved_crashes -1 \
    saved_hangs 2 stability nan% last_update "$now" >"$G/a/fuzzer_stats"
printf '%-17s : %s\n' execs_done 18446744073709551615 execs_per_sec 1.5 saved_hangs 18446744073709551615 \
    stability 99.5% >"$G/b/fuzzer_stats"
cp "$G/b/fuzzer_stats" "$G/b/fuzzer_stats.x"; mkdir -p "$G/c"; cp "$G/b/fuzzer_stats" "$G/c/fuzzer_stats"
out=$("$HVLAB" fuzz --status "$G" 2>&1)
json=$("$HVLAB" fuzz --status "$G" --json 2>&1)
ok=0
grep -Eq '^a +[a-z]+ +\? +\? +\? +\? +2 +\? ' <<<"$out" &&
    python3 -c '
import json, sys
def bad(c): raise ValueError(c)
j = json.loads(sys.stdin.read(), parse_constant=bad)
a = j["instances"][0]
assert a["name"] == "a" and a["execs"] is None and a["stability"] is None, a
assert a["execs_per_sec"] is None and a["corpus"] is None and a["crashes"] is None, a
t = j["total"]
assert t["execs"] == 18446744073709551615 and t["hangs"] == 18446744073709551615, t
assert t["stability"] == 99.5, t
' <<<"$json" && ok=1
report $ok "fuzz --status: garbled stats (nan, negative, trailing text) show ?, JSON null, totals saturate" "$out"$'\n'"$json"

# A --secondaries-only machine must run the campaign as recorded.
printf '#!/bin/sh\nexit 0\n' >"$FAKE/h/afl-grant"; chmod +x "$FAKE/h/afl-grant"
M=$TMP/meta
fake "$HVLAB" fuzz mm --out "$M" --duration 1 --set mm.xsa182=on >/dev/null 2>&1
before=$(cat "$M/.hvlab/campaign")
o1=$(fake "$HVLAB" fuzz mm --out "$M" --duration 1 --secondaries-only 2>&1); r1=$?
o2=$(fake "$HVLAB" fuzz grant --out "$M" --duration 1 --secondaries-only --set mm.xsa182=on 2>&1); r2=$?
o3=$(fake "$HVLAB" fuzz mm --out "$M" --duration 1 --secondaries-only --set mm.xsa182=on 2>&1); r3=$?
ok=0
[ $r1 -eq 2 ] && grep -q 'was started as: mm --set mm.xsa182=on' <<<"$o1" &&
    grep -q 'this run is: *mm (no --set)' <<<"$o1" &&
    [ $r2 -eq 2 ] && grep -q 'this run is: *grant --set mm.xsa182=on' <<<"$o2" &&
    [ $r3 -eq 0 ] && [ "$(cat "$M/.hvlab/campaign")" = "$before" ] &&
    [ "$(cat "$M/.hvlab/${host:0:40}-s1.host")" = "${host:0:40}" ] && ok=1
report $ok "fuzz --secondaries-only: another surface or --set than the record is exit 2 showing both; the same joins" "$o1"$'\n'"$o2"$'\n'"$o3"

# Replay lines when run as ./hvlab from its directory, with a sync dir the
# shell must quote; crash scanning past 4096 files, incremental by id.
Q="$TMP/it's here"
mkdir -p "$Q/main/crashes"
(cd "$Q/main/crashes" && touch id:{000000..004999},sig:06)
out=$(cd "$(dirname "$HVLAB")" && fake env FAKE_AFL_CRASH=1 FAKE_AFL_CRASH_ID=005000 ./hvlab fuzz mm \
      --out "$Q" --duration 1 2>&1); rc=$?
line=$(sed -n 's/^  replay: //p' <<<"$out" | head -n 1)
ro=$(cd "$(dirname "$HVLAB")" && eval "$line" 2>&1); rr=$?
ok=0
[ $rc -eq 1 ] && grep -q '5000 crashes from before' <<<"$out" &&
    [ "$(grep -c '^crash: ' <<<"$out")" = 1 ] && grep -q '1 new crash (5001 in ' <<<"$out" &&
    grep -q "^  replay: \./hvlab repro '.*it'\\\\''s here/main/crashes/id:005000" <<<"$out" &&
    grep -q "triage: .*: \./hvlab fuzz --status '.*it'\\\\''s here' --json" <<<"$out" &&
    [ $rr -eq 0 ] && grep -q '^program (mm, 5 bytes' <<<"$ro" && ok=1
report $ok "fuzz: 5000 old crashes skipped, the new one announced; ./hvlab and a quoted dir in the replay and triage lines, which run" "$out"$'\n'"$line"$'\n'"$ro"
n=$("$HVLAB" fuzz --status "$Q" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["crash_files"]))')
report "$([ "$n" = 5001 ] && echo 1)" "fuzz --status --json lists all 5001 crash files (no 4096 limit)" "$n"

o=$("$HVLAB" fuzz --help 2>&1)
ok=0
grep -q 'restore or race' <<<"$o" && grep -q '`race`' docs/fuzz-campaign.md && ok=1
report $ok "fuzz --help and docs/fuzz-campaign.md name the race surface" "$o"

# A race surface: the mutator and the queue in order (F10, F11); mm has neither.
printf '#!/bin/sh\nexit 0\n' >"$FAKE/h/afl-race"
chmod +x "$FAKE/h/afl-race"
: >"$FAKE/h/mutator-race.so"
out=$(fake "$HVLAB" fuzz race --out "$TMP/race" --duration 1 2>&1); rc=$?
ra=$(cat "$TMP/race/main/args" "$TMP/race/main/env" 2>&1)
ma=$(cat "$D/main/args" "$D/main/env" 2>&1)
ok=0
[ $rc -eq 0 ] && grep -q -- ' -Z -- ' "$TMP/race/main/args" &&
    grep -q "mutator=$FAKE/h/mutator-race.so" "$TMP/race/main/env" &&
    grep -q 'queue walked in order (-Z)' <<<"$out" &&
    ! grep -q -- ' -Z ' "$D/main/args" && grep -q 'mutator=none' "$D/main/env" && ok=1
report $ok "fuzz race: the instances get the race mutator and -Z (queue in order); mm gets neither" \
    "rc $rc"$'\n'"$out"$'\n'"race: $ra"$'\n'"mm: $ma"

# grant walks in order too (F11), without a mutator.
printf '#!/bin/sh\nexit 0\n' >"$FAKE/h/afl-grant"
chmod +x "$FAKE/h/afl-grant"
out=$(fake "$HVLAB" fuzz grant --out "$TMP/grant" --duration 1 2>&1); rc=$?
ga=$(cat "$TMP/grant/main/args" "$TMP/grant/main/env" 2>&1)
ok=0
[ $rc -eq 0 ] && grep -q -- ' -Z -- ' "$TMP/grant/main/args" &&
    grep -q 'mutator=none' "$TMP/grant/main/env" &&
    grep -q 'queue walked in order (-Z)' <<<"$out" && ok=1
report $ok "fuzz grant: the instances get -Z (queue in order) and no mutator" \
    "rc $rc"$'\n'"$out"$'\n'"grant: $ga"

# ---- 3. a real campaign ------------------------------------------------------
name="fuzz: 2 AFL++ instances on mm for 15 s: main + s1, the table and summary, exit 0"
B=${BUILD:-build}
if ! command -v afl-fuzz >/dev/null; then
    echo "skip - $name: afl-fuzz is not installed (make deps)"
elif [ ! -x "$B/fuzz/afl-mm" ] || [ ! -x "$B/fuzz/cmplog-mm" ]; then
    echo "skip - $name: $B/fuzz/afl-mm or cmplog-mm is not built (make fuzz)"
else
    R=$TMP/real-mm
    out=$(AFL_NO_AFFINITY=1 "$HVLAB" fuzz mm -j 2 --out "$R" --duration 15 2>&1); rc=$?
    ok=0
    [ $rc -eq 0 ] && [ -f "$R/main/fuzzer_stats" ] && [ -f "$R/s1/fuzzer_stats" ] &&
        [ -d "$R/main/queue" ] && grep -q '^command_line .*-c .*cmplog-mm' "$R/s1/fuzzer_stats" &&
        grep -Eq '^main +stopped +[0-9]+ ' <<<"$out" && grep -Eq '^s1 +stopped ' <<<"$out" &&
        grep -Eq '^total +stopped +[1-9][0-9]* ' <<<"$out" &&
        grep -q '^summary: mm, 2 instances, .* 0 new crashes (0 in ' <<<"$out" && ok=1
    report $ok "$name" "$out"$'\n'"$(tail -n 5 "$R/.hvlab/main.log" 2>/dev/null)"

    json=$("$HVLAB" fuzz --status "$R" --json 2>&1); rc=$?
    ok=0
    if command -v python3 >/dev/null; then
        python3 -c '
import json, sys
j = json.load(sys.stdin)
assert [i["name"] for i in j["instances"]] == ["main", "s1"], j
assert j["total"]["execs"] > 0 and j["total"]["crashes"] == 0, j
' <<<"$json" && [ $rc -eq 0 ] && ok=1
    else
        [ $rc -eq 0 ] && grep -q '"name": "s1"' <<<"$json" && ok=1
    fi
    report $ok "fuzz --status --json on the real campaign parses (main, s1, execs > 0)" "$json"
fi
