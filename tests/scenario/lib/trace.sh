# tests/scenario/lib/trace.sh - trace helpers the scenario tests share
# (sourced).
#
# trace_hash DIR: a hash of the trace's events with what differs between
# two runs of the same det schedule taken out (timestamps, the CPU, the
# process and thread ids), so two replays of one seed hash alike exactly
# when they emitted the same events with the same payloads in the same
# order.
trace_hash() {
    babeltrace2 "$1" 2>/dev/null |
        sed -E 's/^\[[^]]*\] \([^)]*\) [^ ]+ //;
                s/\{ cpu_id = [0-9]+ \}, //;
                s/\{ vpid = [0-9]+, vtid = [0-9]+, procname = "[^"]*" \}, //' |
        sha256sum | cut -d' ' -f1
}
