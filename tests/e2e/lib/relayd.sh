# tests/e2e/lib/relayd.sh - a private lttng-relayd for a test (sourced).
#
# port_free PORT: nobody listens at 127.0.0.1:PORT.
# pick_base: three consecutive free ports (prints the first), or fails.
# start_relayd OUTDIR: a relayd (not daemonised) writing into OUTDIR on
#   free ports, retried when another process took one; sets RELAYD (its
#   pid), C, D, L (its ports); its log is OUTDIR.log.  Fails when none could
#   be run.  stop_relayd: kill it and wait (its files are then closed).
# A port nobody listens at (a connect to it is refused).
port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
pick_base() {   # three consecutive free ports, or fail
    local i b
    for i in 1 2 3 4 5 6 7 8 9 10; do
        b=$((20000 + (RANDOM % 2000) * 16))
        port_free $b && port_free $((b + 1)) && port_free $((b + 2)) &&
            { echo $b; return 0; }
    done
    return 1
}

RELAYD=
stop_relayd() {
    [ -n "$RELAYD" ] && kill "$RELAYD" 2>/dev/null && wait "$RELAYD" 2>/dev/null
    RELAYD=
}
start_relayd() {
    local out=$1 attempt b
    for attempt in 1 2 3 4 5; do
        b=$(pick_base) || break
        C=$b; D=$((b + 1)); L=$((b + 2))
        rm -rf "$out"
        lttng-relayd -o "$out" -C "tcp://127.0.0.1:$C" -D "tcp://127.0.0.1:$D" \
            -L "tcp://127.0.0.1:$L" >"$out.log" 2>&1 &
        RELAYD=$!
        for _ in $(seq 50); do
            ! port_free $C && ! port_free $D && break
            kill -0 "$RELAYD" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$RELAYD" 2>/dev/null && ! port_free $C && ! port_free $D; then
            return 0
        fi
        stop_relayd
    done
    return 1
}
