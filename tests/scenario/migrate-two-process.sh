#!/usr/bin/env bash
# tests/scenario/migrate-two-process.sh - migration between two hvlab
# processes (docs/migration.md "Two processes").
#
#   1. migrate-live.hvl: `hvlab receive --listen 127.0.0.1:0` and `hvlab
#      migrate --to tcp://127.0.0.1:PORT`: the sender says migrated held and
#      the domain went to the receiver; the receiver restored it, the guest
#      kernel resumed from its saved state and finished its work there:
#      migrated, verify-clean, workload-ok, audit-clean held.  The same in
#      det mode on both sides, and for the HVM (hap) guest.
#   2. Story E's guest with blkback.quiesce=on: the blk backend rebuilt on
#      the receiver over the same disk file; blk-verified held there.
#   3. To a file and back (xl save / xl restore): `--to file:F`, then
#      `hvlab receive --from F`; Xen's checker (`verify-stream-v2 -f xl`)
#      accepts F when it can be had; the receiver's --save-stream is F byte
#      for byte.
#   4. Failures: nothing listening is exit 2 naming the URL; a receiver
#      that hangs up after 256 KiB: the save fails naming the receiver,
#      the guest (still live) finishes on the sender (workload-ok held,
#      migrated broken); a truncated file: the receiver's migrated
#      breaks naming the record and offset, audit clean, every frame back.
#   5. A receiver that stops reading: the I/O limit (HVLAB_MIG_TIMEOUT)
#      fails the save naming it.  6. No report after the go: the guest is
#      not resumed on the sender, its vbds close, nothing hangs.  7. The
#      receiver refuses a shared disk that is not an existing *.disk file.
# About 40 s on 2 cores.
set -u
cd "$(dirname "$0")/../.."
. tests/scenario/lib/report.sh
scenario_start migrate-two-process
scenario_tmp
LIVE=scenarios/migrate-live.hvl
E=scenarios/migrate-backend-quiesce.hvl

# start_receiver NAME ARGS...: a receiver in the background writing its
# report to $TMP/NAME.out; sets RPID and PORT (waits for its port line).
start_receiver() {
    local name=$1; shift
    "$HVLAB" receive --listen 127.0.0.1:0 "$@" >"$TMP/$name.out" \
        2>"$TMP/$name.err" &
    RPID=$!
    PORT=
    for _ in $(seq 100); do
        PORT=$(sed -n 's/^hvlab receive: listening on port \([0-9]*\)$/\1/p' \
               "$TMP/$name.err")
        [ -n "$PORT" ] && return 0
        sleep 0.05
    done
    return 1
}
receiver_done() {   # receiver_done NAME: waits; RRC, ROUT
    wait "$RPID"; RRC=$?
    ROUT=$(cat "$TMP/$1.out" "$TMP/$1.err")
}

# 1
two_way() {   # two_way NAME SCENARIO [SENDER_ARGS...]; $RARGS: the receiver's
    local name=$1 scn=$2; shift 2
    # shellcheck disable=SC2086
    if ! start_receiver "$name" ${RARGS:-}; then
        report 0 "$name: the receiver listens" "$(cat "$TMP/$name.err")"
        return
    fi
    SOUT=$("$HVLAB" migrate "$scn" --to "tcp://127.0.0.1:$PORT" "$@" 2>&1)
    SRC=$?
    receiver_done "$name"
}
two_way live "$LIVE"
ok=0
if [ $SRC -eq 0 ] && held migrated "$SOUT" &&
   grep -q "migrated to tcp://127.0.0.1:$PORT" <<<"$SOUT" &&
   grep -q 'verify-clean: n/a here' <<<"$SOUT"; then ok=1; fi
report $ok "sender: migrate-live.hvl went to the receiver (migrated held, verify judged there)" "$SOUT"
ok=0
if [ $RRC -eq 0 ] && held migrated "$ROUT" && held verify-clean "$ROUT" &&
   held workload-ok "$ROUT" && held audit-clean "$ROUT" &&
   grep -q 'the guest resumed there' <<<"$ROUT"; then ok=1; fi
report $ok "receiver: restored, the kernel resumed from its saved state and finished, verify clean" "$ROUT$SOUT"

RARGS="--sched det" two_way live-det "$LIVE" --sched det
report_rc $((SRC + RRC)) "the same in det mode on both sides" "$SOUT$ROUT"
two_way hvm scenarios/migrate-live-hvm.hvl
report_rc $((SRC + RRC)) "an HVM (hap) guest migrates between two processes" "$SOUT$ROUT"

# 2
two_way blk "$E" --set blkback.quiesce=on
ok=0
if [ $SRC -eq 0 ] && [ $RRC -eq 0 ] && held blk-verified "$ROUT" &&
   held verify-clean "$ROUT" && grep -q 'blk-verified: n/a here' <<<"$SOUT"
then ok=1; fi
report $ok "story E's guest (quiesce=on): backend rebuilt on the receiver over the shared disk, blk-verified there" "$SOUT$ROUT"

# 3
SOUT=$("$HVLAB" migrate "$LIVE" --to "file:$TMP/saved.xl" 2>&1); SRC=$?
ok=0
if [ $SRC -eq 0 ] && held migrated "$SOUT" && [ -s "$TMP/saved.xl" ] &&
   grep -q "saved to file:$TMP/saved.xl" <<<"$SOUT"; then ok=1; fi
report $ok "--to file: the domain is saved (xl save)" "$SOUT"
ROUT=$("$HVLAB" receive --from "$TMP/saved.xl" --save-stream "$TMP/again.xl" 2>&1); RRC=$?
ok=0
if [ $RRC -eq 0 ] && held migrated "$ROUT" && held workload-ok "$ROUT" &&
   cmp -s "$TMP/saved.xl" "$TMP/again.xl"; then ok=1; fi
report $ok "receive --from restores it and the guest finishes; --save-stream is the file byte for byte" "$ROUT"
if run=$(bash mk/xen-checker.sh 2>"$TMP/checker.err"); then
    out=$($run -f xl -i "$TMP/saved.xl" 2>&1); rc=$?
    report_rc $rc "Xen's verify-stream-v2 -f xl accepts the xl stream" "$out"
else
    echo "skip - Xen's verify-stream-v2 -f xl accepts the xl stream: $(cat "$TMP/checker.err")"
fi

# 4
python3 - >"$TMP/port" <<'PY' &
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
c.sendall(b"xl migration receiver ready, send binary domain data.\n")
got = 0
while got < 256 * 1024:
    b = c.recv(65536)
    if not b:
        break
    got += len(b)
c.close(); s.close()
PY
PYPID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
HP=$(cat "$TMP/port")
SOUT=$("$HVLAB" migrate "$LIVE" --to "tcp://127.0.0.1:$HP" 2>&1); SRC=$?
wait $PYPID
ok=0
if [ $SRC -eq 1 ] && grep -q 'migrated: BROKEN' <<<"$SOUT" &&
   held workload-ok "$SOUT" && held audit-clean "$SOUT" &&
   grep -q "tcp://127.0.0.1:$HP: the receiver closed" <<<"$SOUT" &&
   grep -q '512000 pages touched' <<<"$SOUT"; then ok=1; fi
report $ok "a receiver hanging up mid-stream: the save fails naming it, the guest finishes on the sender" "$SOUT"

# A free port with nothing listening.
FREE=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SOUT=$("$HVLAB" migrate "$LIVE" --to "tcp://127.0.0.1:$FREE" 2>&1); SRC=$?
ok=0
if [ $SRC -eq 2 ] && grep -q "tcp://127.0.0.1:$FREE" <<<"$SOUT"; then ok=1; fi
report $ok "nothing listening at the URL: exit 2 naming it" "$SOUT"
SOUT=$("$HVLAB" migrate "$LIVE" 2>&1); SRC=$?
ok=0; [ $SRC -eq 2 ] && grep -q -- '--to' <<<"$SOUT" && ok=1
report $ok "migrate without --to: exit 2" "$SOUT"

size=$(stat -c %s "$TMP/saved.xl")
head -c $((size / 2)) "$TMP/saved.xl" > "$TMP/half.xl"
ROUT=$("$HVLAB" receive --from "$TMP/half.xl" 2>&1); RRC=$?
ok=0
if [ $RRC -eq 1 ] && grep -q 'migrated: BROKEN' <<<"$ROUT" &&
   grep -q 'offset' <<<"$ROUT" && held audit-clean "$ROUT"; then ok=1; fi
report $ok "a truncated stream: the receiver names the record and offset, leaves nothing behind" "$ROUT"

# 5. A receiver that stops reading: the sender's write makes no progress for
#    HVLAB_MIG_TIMEOUT seconds and fails naming it (mig_conn.h C6); the
#    guest, still live, finishes on the sender.
fake_receiver() {   # fake_receiver MODE: prints its port, then serves once
    python3 - "$1" <<'PY' &
import socket, sys, time
mode = sys.argv[1]
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
c.sendall(b"xl migration receiver ready, send binary domain data.\n")
if mode == "stall":
    time.sleep(8); c.close(); sys.exit(0)
# go-then-vanish: read the stream until the sender waits, say ready, take
# the go, and close without a report.
c.settimeout(2.0)
try:
    while c.recv(1 << 20):
        pass
except socket.timeout:
    pass
c.settimeout(None)
c.sendall(b"domain received, ready to unpause\0")
want = b"domain is yours, you are cleared to unpause\0"
got = b""
while len(got) < len(want):
    b = c.recv(len(want) - len(got))
    if not b:
        break
    got += b
c.close()
PY
}
fake_receiver stall >"$TMP/port2"
FPID=$!
for _ in $(seq 100); do [ -s "$TMP/port2" ] && break; sleep 0.05; done
SOUT=$(HVLAB_MIG_TIMEOUT=2 "$HVLAB" migrate "$LIVE" --to "tcp://127.0.0.1:$(cat "$TMP/port2")" 2>&1); SRC=$?
wait $FPID
ok=0
if [ $SRC -eq 1 ] && grep -q 'read nothing for 2 s' <<<"$SOUT" &&
   held workload-ok "$SOUT" && grep -q '512000 pages touched' <<<"$SOUT"; then ok=1; fi
report $ok "a receiver that stops reading: the sender gives up after the I/O limit, the guest finishes here" "$SOUT"

# 6. A receiver that takes the go and vanishes without a report: the
#    sender does not resume the guest (it may run there), closes its vbds,
#    and its backend ends: no hang.
fake_receiver go-then-vanish >"$TMP/port3"
FPID=$!
for _ in $(seq 100); do [ -s "$TMP/port3" ] && break; sleep 0.05; done
SOUT=$(timeout 120 "$HVLAB" migrate "$E" --set blkback.quiesce=on --to "tcp://127.0.0.1:$(cat "$TMP/port3")" 2>&1); SRC=$?
wait $FPID
ok=0
if [ $SRC -eq 1 ] && grep -q 'not resumed here' <<<"$SOUT" &&
   held audit-clean "$SOUT"; then ok=1; fi
report $ok "no report after the go: the guest is not resumed on the sender, its backend ends, no hang" "$SOUT"

# 7. The receiver takes only a *.disk file as the shared disk (V5).
start_receiver baddisk
SOUT=$("$HVLAB" migrate "$E" --set blkback.quiesce=on --disk "$TMP/notadisk.img" --to "tcp://127.0.0.1:$PORT" 2>&1); SRC=$?
receiver_done baddisk
ok=0
if [ $RRC -eq 2 ] && grep -q "refusing the shared disk '$TMP/notadisk.img'" <<<"$ROUT" &&
   [ $SRC -ne 0 ] && held blk-verified "$SOUT"; then ok=1; fi
report $ok "the receiver refuses a shared disk not named *.disk; the guest finishes on the sender" "$SOUT$ROUT"

# 8. The handshake's injection points: the receiver that gives up before it
#    is ready, and the sender that withholds the go.  Either way the guest
#    resumes on the sender and finishes there, the receiver leaves nothing.
RARGS="--inject mig.recv.before_ready:fail" two_way inj-ready "$LIVE"
ok=0
if [ $SRC -eq 1 ] && held workload-ok "$SOUT" &&
   grep -q 'the guest resumed on the source' <<<"$SOUT" &&
   [ $RRC -eq 1 ] && grep -q 'mig.recv.before_ready' <<<"$ROUT" &&
   held audit-clean "$ROUT"; then ok=1; fi
report $ok "mig.recv.before_ready:fail: the receiver gives up, the guest resumes on the sender" "$SOUT$ROUT"
two_way inj-go "$LIVE" --inject mig.send.before_go:fail
ok=0
if [ $SRC -eq 1 ] && held workload-ok "$SOUT" &&
   grep -q 'mig.send.before_go' <<<"$SOUT" &&
   grep -q 'the guest resumed on the source' <<<"$SOUT" &&
   [ $RRC -eq 1 ] && held audit-clean "$ROUT"; then ok=1; fi
report $ok "mig.send.before_go:fail: the sender withholds the go and resumes the guest, the receiver destroys its copy" "$SOUT$ROUT"
