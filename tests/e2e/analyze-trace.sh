#!/usr/bin/env bash
# tests/e2e/analyze-trace.sh - `hvlab analyze` and the babeltrace2 plugin on
# a real trace (docs/analyze.md).
#
# Records pv-fork-storm-small traced, then:
#   - `hvlab analyze` reads it to the end (exit 0 or 1, never 2), in text
#     and --json, with the same exit code, and the JSON parses and counts
#     what it lists;
#   - `babeltrace2 --plugin-path=BUILD TRACE -c sink.hvlab.check -p
#     json=true` prints the very same JSON (both drive one engine);
#   - on a copy with 8 payload bytes overwritten (framing intact) until the
#     analysis finds something, both give the same non-empty findings;
#   - a copy with a stream file truncated, and one with 128 bytes of 0xff
#     written inside a stream file, exit 2 with a message naming that stream
#     file and the byte offset (the file's end; the start of the event that
#     cannot be decoded), and still print the findings of what came before;
#   - hvlab's own CTF reader (the default) and --reader babeltrace2 give
#     the same JSON, findings and report;
#   - usage errors (unknown option, missing trace) exit 2 naming what;
#   - the plugin's parameters are checked at init (unknown key, wrong type,
#     an only= name that selects nothing, an empty or too long only=) with
#     an error naming what is accepted; fail-on-findings=true ends the graph
#     with an error when something was found; a trace with no hvlab event
#     is exit 2 (CLI) / an error (plugin) saying nothing was checked; an
#     --images comparison that never ran prints nothing ("images": null);
#   - a cut trace through babeltrace2: the CLI picks source.hvlab.ctf, and
#     sink.hvlab.check prints hvlab analyze's JSON byte for byte (and its
#     text findings), the error names the stream file and the byte offset;
#     -c source.hvlab.ctf -p inputs=[DIR] does the same, and on a whole
#     trace too; a whole trace still goes through source.ctf.fs (the same
#     pretty text with and without the plugin path); bad inputs to the
#     source are refused naming them;
#   - cuts of a stream file from byte 0 on (HVLAB_E2E_FULL=1: every 4th byte
#     to 1200) never abort the reader and name the file; a cut metadata
#     file and a trace babeltrace2 refuses are left out naming them while
#     the other trace is read; a decode failure in another stream is
#     described beside the cut.
set -u
. "$(dirname "$0")/lib/common.sh"
NAME="analyze trace"
SCEN=$E2E_ROOT/scenarios/pv-fork-storm-small.hvl
HV=$BUILD/hvlab
PLUGIN_DIR=$BUILD

if [ ! -x "$HV" ] || ! "$HV" analyze --help >/dev/null 2>&1; then
    e2e_skip "$NAME" "build/hvlab has no analyze command yet"
    exit 0
fi
if ! command -v babeltrace2 >/dev/null 2>&1; then
    e2e_skip "$NAME" "babeltrace2 is not installed"
    exit 0
fi
if ! e2e_sessiond; then
    e2e_skip "$NAME" "no LTTng session daemon could be started"
    exit 0
fi
T=$(e2e_tmpdir)

# --- usage -----------------------------------------------------------------
"$HV" analyze --no-such-option "$T" >/dev/null 2>"$T/u1.err"; rc=$?
if [ $rc -eq 2 ] && grep -q -- "--no-such-option" "$T/u1.err"; then
    e2e_ok "$NAME: an unknown option is exit 2 naming it"
else
    e2e_notok "$NAME: an unknown option is exit 2 naming it" "exit $rc" "$(head -3 "$T/u1.err")"
fi
"$HV" analyze "$T/missing" >/dev/null 2>"$T/u2.err"; rc=$?
if [ $rc -eq 2 ] && grep -q "$T/missing" "$T/u2.err"; then
    e2e_ok "$NAME: a missing trace directory is exit 2 naming it"
else
    e2e_notok "$NAME: a missing trace directory is exit 2 naming it" "exit $rc" "$(head -3 "$T/u2.err")"
fi
"$HV" analyze --list >"$T/list.out" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -q "rebuild.untraced" "$T/list.out"; then
    e2e_ok "$NAME: --list names the checkers"
else
    e2e_notok "$NAME: --list names the checkers" "exit $rc" "$(head -5 "$T/list.out")"
fi

# --- a real trace ------------------------------------------------------------
"$HV" run "$SCEN" --trace "$T/trace" >"$T/run.out" 2>"$T/run.err"; rc=$?
if [ $rc -ne 0 ]; then
    e2e_notok "$NAME: traced pv-fork-storm-small run" "hvlab run exited $rc" \
        "$(tail -n 15 "$T/run.err")"
    exit 1
fi
e2e_ok "$NAME: traced pv-fork-storm-small run holds its expectations"

"$HV" analyze "$T/trace" >"$T/text.out" 2>"$T/text.err"; rc_text=$?
if { [ $rc_text -eq 0 ] || [ $rc_text -eq 1 ]; } && grep -q "hvlab events, " "$T/text.out" &&
   { grep -q "^no findings$" "$T/text.out" || grep -q "^[0-9]* findings\?:$" "$T/text.out"; }; then
    e2e_ok "$NAME: hvlab analyze reads the whole trace (exit $rc_text, $(grep -o '[0-9]* hvlab events' "$T/text.out"))"
else
    e2e_notok "$NAME: hvlab analyze reads the whole trace" "exit $rc_text" \
        "$(head -20 "$T/text.out")" "$(head -5 "$T/text.err")"
fi

"$HV" analyze --json "$T/trace" >"$T/cli.json" 2>"$T/json.err"; rc_json=$?
check=$(python3 - "$T/cli.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"findings", "by_checker", "total"}, d.keys()
assert d["total"] == sum(d["by_checker"].values())
assert len(d["findings"]) <= d["total"]
for f in d["findings"]:
    assert f["checker"] and isinstance(f["what"], str) and isinstance(f["history"], list)
print(d["total"])
EOF
)
if [ $? -eq 0 ] && [ $rc_json -eq $rc_text ]; then
    e2e_ok "$NAME: --json is one valid object with the text's exit code ($check findings)"
else
    e2e_notok "$NAME: --json is one valid object with the text's exit code" \
        "exit $rc_json (text $rc_text)" "$check" "$(head -c 600 "$T/cli.json")"
fi

# --- the two readers (docs/analyze.md "The reader") -------------------------
"$HV" analyze --reader babeltrace2 --json --report "$T/trace" >"$T/bt2.json" 2>/dev/null; rc_b=$?
"$HV" analyze --reader native --json --report "$T/trace" >"$T/nat.json" 2>/dev/null; rc_n=$?
"$HV" analyze --reader other "$T/trace" >/dev/null 2>"$T/rd.err"; rc_u=$?
if [ $rc_b -eq $rc_json ] && [ $rc_n -eq $rc_json ] && cmp -s "$T/bt2.json" "$T/nat.json" &&
   [ $rc_u -eq 2 ] && grep -q "'other' is not babeltrace2 or native" "$T/rd.err"; then
    e2e_ok "$NAME: --reader native and --reader babeltrace2 give the same findings and report (JSON identical); another reader is exit 2"
else
    e2e_notok "$NAME: --reader native and --reader babeltrace2 give the same findings and report" \
        "exit $rc_n / $rc_b / $rc_u" "$(diff "$T/bt2.json" "$T/nat.json" | head -10)" "$(head -2 "$T/rd.err")"
fi

# --- the plugin ---------------------------------------------------------------
if [ ! -f "$PLUGIN_DIR/babeltrace2-plugin-hvlab.so" ]; then
    e2e_notok "$NAME: the plugin is built" "no $PLUGIN_DIR/babeltrace2-plugin-hvlab.so"
else
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/trace" -c sink.hvlab.check \
        -p json=true >"$T/plugin.json" 2>"$T/plugin.err"; rc=$?
    if [ $rc -eq 0 ] && cmp -s "$T/cli.json" "$T/plugin.json"; then
        e2e_ok "$NAME: sink.hvlab.check gives the same findings as hvlab analyze (JSON identical)"
    else
        e2e_notok "$NAME: sink.hvlab.check gives the same findings as hvlab analyze" \
            "babeltrace2 exit $rc" "$(diff "$T/cli.json" "$T/plugin.json" | head -10)" \
            "$(head -5 "$T/plugin.err")"
    fi
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/trace" -c sink.hvlab.check \
        >"$T/plugin.txt" 2>"$T/plugin-txt.err"; rc=$?
    if [ $rc -eq 0 ] && diff <(sed -n '/^$/,$p' "$T/text.out") <(sed -n '/^$/,$p' "$T/plugin.txt") >/dev/null; then
        e2e_ok "$NAME: sink.hvlab.check prints the same text findings"
    else
        e2e_notok "$NAME: sink.hvlab.check prints the same text findings" "babeltrace2 exit $rc" \
            "$(diff <(sed -n '/^$/,$p' "$T/text.out") <(sed -n '/^$/,$p' "$T/plugin.txt") | head -10)"
    fi
fi

# --- the plugin's parameters (H6) -------------------------------------------
if [ -f "$PLUGIN_DIR/babeltrace2-plugin-hvlab.so" ]; then
    many=$(printf 'inv.3,%.0s' $(seq 1 65)); many=${many%,}
    for pc in "only=\"nosuch\":'nosuch'" "only=\"\":no checker name" \
              "only=\"$many\":more than 64" "jsn=true:unknown parameter 'jsn'" \
              "json=1:must be a boolean" "fail-on-findings=\"yes\":must be a boolean"; do
        p=${pc%%:*}
        want=${pc#*:}
        babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/trace" -c sink.hvlab.check \
            -p "$p" >"$T/param.out" 2>"$T/param.err"; rc=$?
        if [ $rc -ne 0 ] && grep -q -- "$want" "$T/param.err" &&
           { [ "$want" = "more than 64" ] || [ "$want" = "no checker name" ] ||
             [ "$want" = "'nosuch'" ] || grep -q "accepted: json=" "$T/param.err"; } &&
           ! grep -q "hvlab events" "$T/param.out"; then
            e2e_ok "$NAME: the plugin refuses -p '${p:0:40}' at init, saying '$want'"
        else
            e2e_notok "$NAME: the plugin refuses -p '${p:0:40}' at init, saying '$want'" \
                "babeltrace2 exit $rc" "$(grep -i "hvlab" "$T/param.err" | head -3)"
        fi
    done
fi
many=$(printf 'inv.3,%.0s' $(seq 1 65)); many=${many%,}
"$HV" analyze --only "$many" "$T/trace" >/dev/null 2>"$T/u3.err"; rc=$?
if [ $rc -eq 2 ] && grep -q "more than 64" "$T/u3.err"; then
    e2e_ok "$NAME: --only with 65 names is exit 2, not cut silently"
else
    e2e_notok "$NAME: --only with 65 names is exit 2, not cut silently" "exit $rc" "$(head -2 "$T/u3.err")"
fi

# --- a trace holding no hvlab event checks nothing (exit 2) -------------------
mkdir -p "$T/empty"
(cd "$T/trace" && find . -name metadata) | while read -r m; do
    mkdir -p "$T/empty/$(dirname "$m")"; cp "$T/trace/$m" "$T/empty/$m"
done
"$HV" analyze "$T/empty" >"$T/empty.out" 2>"$T/empty.err"; rc=$?
if [ $rc -eq 2 ] && grep -q "nothing was checked" "$T/empty.err" &&
   grep -q ": 0 hvlab events" "$T/empty.out"; then
    e2e_ok "$NAME: a trace with no hvlab event is exit 2, 'nothing was checked'"
else
    e2e_notok "$NAME: a trace with no hvlab event is exit 2, 'nothing was checked'" "exit $rc" \
        "$(head -3 "$T/empty.err")" "$(head -3 "$T/empty.out")"
fi
if [ -f "$PLUGIN_DIR/babeltrace2-plugin-hvlab.so" ]; then
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/empty" -c sink.hvlab.check \
        >"$T/pempty.out" 2>"$T/pempty.err"; rc=$?
    if [ $rc -ne 0 ] && grep -q "nothing was checked" "$T/pempty.err"; then
        e2e_ok "$NAME: the plugin on a trace with no hvlab event fails, 'nothing was checked'"
    else
        e2e_notok "$NAME: the plugin on a trace with no hvlab event fails, 'nothing was checked'" \
            "babeltrace2 exit $rc" "$(head -3 "$T/pempty.err")"
    fi
fi

# --- --images that never ran prints nothing ----------------------------------
"$HV" analyze "$T/missing" --images "$T/s.img" "$T/d.img" >"$T/im.out" 2>"$T/im.err"; rc=$?
"$HV" analyze --json "$T/missing" --images "$T/s.img" "$T/d.img" >"$T/im.json" 2>/dev/null; rcj=$?
if [ $rc -eq 2 ] && [ $rcj -eq 2 ] && ! grep -q "^images " "$T/im.out" &&
   python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["images"] is None' "$T/im.json"; then
    e2e_ok "$NAME: --images with an unreadable trace prints no comparison (\"images\": null)"
else
    e2e_notok "$NAME: --images with an unreadable trace prints no comparison" "exit $rc/$rcj" \
        "$(grep images "$T/im.out")" "$(head -c 300 "$T/im.json")"
fi

# --- findings: the same from both ------------------------------------------------
# A trace with findings: overwrite 8 payload bytes of one stream file (the
# event framing stays intact) until the rebuilt state disagrees with an
# event's old value somewhere - a "transition the trace does not show".
stream=$(find "$T/trace" -type f ! -name metadata ! -path '*/index/*' -printf '%s %P\n' |
         sort -n | tail -1 | cut -d' ' -f2-)
size=$(stat -c %s "$T/trace/$stream")
found=
for k in $(seq 1 40); do
    rm -rf "$T/bad"
    cp -r "$T/trace" "$T/bad"
    printf 'ZZZZZZZZ' | dd of="$T/bad/$stream" bs=1 seek=$((size * k / 41 + 1)) conv=notrunc 2>/dev/null
    "$HV" analyze --json "$T/bad" >"$T/bad.json" 2>/dev/null
    if [ $? -eq 1 ]; then found=$k; break; fi
done
if [ -z "$found" ]; then
    e2e_skip "$NAME: findings compare between hvlab analyze and the plugin" \
        "no overwritten payload gave a finding"
elif [ -f "$PLUGIN_DIR/babeltrace2-plugin-hvlab.so" ]; then
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/bad" -c sink.hvlab.check \
        -p json=true >"$T/pbad.json" 2>/dev/null
    n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$T/bad.json")
    if cmp -s "$T/bad.json" "$T/pbad.json" && [ "${n:-0}" -gt 0 ]; then
        e2e_ok "$NAME: on a trace with findings ($n), sink.hvlab.check and hvlab analyze agree (JSON identical)"
    else
        e2e_notok "$NAME: on a trace with findings, sink.hvlab.check and hvlab analyze agree" \
            "$(diff "$T/bad.json" "$T/pbad.json" | head -10)"
    fi
fi

# fail-on-findings=true (H7): an error when something was found, none when not
if [ -n "$found" ] && [ -f "$PLUGIN_DIR/babeltrace2-plugin-hvlab.so" ]; then
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/bad" -c sink.hvlab.check \
        -p fail-on-findings=true >/dev/null 2>"$T/pfail.err"; rc=$?
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/bad" -c sink.hvlab.check \
        >/dev/null 2>&1; rc0=$?
    if [ $rc -ne 0 ] && [ $rc0 -eq 0 ] && grep -q "fail-on-findings=true" "$T/pfail.err"; then
        e2e_ok "$NAME: fail-on-findings=true makes the plugin fail on findings (exit $rc; 0 without it)"
    else
        e2e_notok "$NAME: fail-on-findings=true makes the plugin fail on findings" \
            "exit $rc, $rc0 without" "$(grep hvlab "$T/pfail.err" | head -2)"
    fi
fi
if [ -f "$PLUGIN_DIR/babeltrace2-plugin-hvlab.so" ] &&
   [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$T/cli.json")" = 0 ]; then
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/trace" -c sink.hvlab.check \
        -p fail-on-findings=true >/dev/null 2>"$T/pfail0.err"; rc=$?
    if [ $rc -eq 0 ]; then
        e2e_ok "$NAME: fail-on-findings=true on a clean trace ends normally (exit 0)"
    else
        e2e_notok "$NAME: fail-on-findings=true on a clean trace ends normally" "exit $rc" \
            "$(grep hvlab "$T/pfail0.err" | head -2)"
    fi
fi

# --- a cut trace through babeltrace2 (source.hvlab.ctf, source_ctf.c S2) -------
# babeltrace2's CLI picks the plugin's source for a directory with a stream
# file cut short; sink.hvlab.check then prints what `hvlab analyze` prints,
# and the error names the stream file and the byte offset.  A whole trace
# still goes through source.ctf.fs: its pretty text is unchanged.
if [ -f "$PLUGIN_DIR/babeltrace2-plugin-hvlab.so" ]; then
    pstream=$(find "$T/trace" -type f ! -name metadata ! -path '*/index/*' -printf '%s %P\n' |
              sort -n | tail -1 | cut -d' ' -f2-)
    pcut_at=$(( $(stat -c %s "$T/trace/$pstream") * 2 / 5 ))
    rm -rf "$T/pcut"; cp -r "$T/trace" "$T/pcut"
    truncate -s $pcut_at "$T/pcut/$pstream"
    "$HV" analyze --json "$T/pcut" >"$T/pcut-cli.json" 2>/dev/null; rc_cli=$?
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/pcut" -c sink.hvlab.check -p json=true \
        >"$T/pcut.json" 2>"$T/pcut.err"; rc=$?
    n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["total"])' \
        "$T/pcut.json" 2>/dev/null)
    if [ $rc -eq 1 ] && [ $rc_cli -eq 2 ] && [ -n "$n" ] && cmp -s "$T/pcut-cli.json" "$T/pcut.json"; then
        e2e_ok "$NAME: on a cut trace, sink.hvlab.check prints hvlab analyze's JSON byte for byte ($n findings; babeltrace2 exit 1)"
    else
        e2e_notok "$NAME: on a cut trace, sink.hvlab.check prints hvlab analyze's JSON byte for byte" \
            "babeltrace2 exit $rc, hvlab analyze exit $rc_cli" \
            "$(diff "$T/pcut-cli.json" "$T/pcut.json" | head -6)" "$(grep -i error "$T/pcut.err" | tail -3)"
    fi
    if grep -q "sink.hvlab.check: the findings above are of the [0-9]* hvlab events before the upstream stopped: .*$(basename "$pstream")' is cut short: it ends at byte offset $pcut_at, inside the packet" "$T/pcut.err" &&
       grep -q "CAUSED BY \[.*'source.hvlab.ctf'\]" "$T/pcut.err" &&
       tr -s ' \n' ' ' <"$T/pcut.err" | grep -q "$(basename "$pstream")' is cut short: it ends at byte offset $pcut_at"; then
        e2e_ok "$NAME: the cut trace's error names the stream file and byte offset $pcut_at (the sink's line and source.hvlab.ctf's cause)"
    else
        e2e_notok "$NAME: the cut trace's error names the stream file and the byte offset" \
            "$(grep '^sink.hvlab' "$T/pcut.err")" "$(tail -6 "$T/pcut.err")"
    fi
    "$HV" analyze "$T/pcut" >"$T/pcut-cli.txt" 2>/dev/null
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/pcut" -c sink.hvlab.check \
        >"$T/pcut.txt" 2>/dev/null; rc=$?
    if [ $rc -eq 1 ] && grep -q "hvlab events (read up to the error)" "$T/pcut.txt" &&
       diff <(sed -n '/^$/,$p' "$T/pcut-cli.txt") <(sed -n '/^$/,$p' "$T/pcut.txt") >/dev/null; then
        e2e_ok "$NAME: on a cut trace, sink.hvlab.check prints hvlab analyze's text findings, 'read up to the error'"
    else
        e2e_notok "$NAME: on a cut trace, sink.hvlab.check prints hvlab analyze's text findings" \
            "babeltrace2 exit $rc" "$(head -1 "$T/pcut.txt")" \
            "$(diff <(sed -n '/^$/,$p' "$T/pcut-cli.txt") <(sed -n '/^$/,$p' "$T/pcut.txt") | head -6)"
    fi
    # explicit use, on the cut and on the whole trace
    babeltrace2 --plugin-path="$PLUGIN_DIR" -c source.hvlab.ctf -p "inputs=[\"$T/pcut\"]" \
        -c sink.hvlab.check -p json=true >"$T/pcut-x.json" 2>/dev/null; rc=$?
    babeltrace2 --plugin-path="$PLUGIN_DIR" -c source.hvlab.ctf -p "inputs=[\"$T/trace\"]" \
        -c sink.hvlab.check -p json=true >"$T/whole-x.json" 2>/dev/null; rc_w=$?
    if [ $rc -eq 1 ] && cmp -s "$T/pcut-cli.json" "$T/pcut-x.json" &&
       [ $rc_w -eq 0 ] && cmp -s "$T/cli.json" "$T/whole-x.json"; then
        e2e_ok "$NAME: -c source.hvlab.ctf -p inputs=[DIR] gives hvlab analyze's JSON, cut (exit 1) and whole (exit 0)"
    else
        e2e_notok "$NAME: -c source.hvlab.ctf -p inputs=[DIR] gives hvlab analyze's JSON" \
            "exit $rc (cut), $rc_w (whole)" "$(diff "$T/pcut-cli.json" "$T/pcut-x.json" | head -4)" \
            "$(diff "$T/cli.json" "$T/whole-x.json" | head -4)"
    fi
    babeltrace2 "$T/trace" >"$T/pretty-plain.txt" 2>/dev/null; rc0=$?
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/trace" >"$T/pretty-plugin.txt" 2>/dev/null; rc1=$?
    if [ $rc0 -eq 0 ] && [ $rc1 -eq 0 ] && [ -s "$T/pretty-plain.txt" ] &&
       cmp -s "$T/pretty-plain.txt" "$T/pretty-plugin.txt"; then
        e2e_ok "$NAME: a whole trace still goes through source.ctf.fs: the same pretty text with the plugin path ($(wc -l <"$T/pretty-plain.txt") lines)"
    else
        e2e_notok "$NAME: a whole trace still goes through source.ctf.fs" "exit $rc0 / $rc1" \
            "$(diff "$T/pretty-plain.txt" "$T/pretty-plugin.txt" | head -4)"
    fi
    # wrong inputs: a clear cause, never a crash
    bad=
    for pc in "inputs=[\"$T/missing\"]:cannot read trace directory '$T/missing'" \
              "inputs=[\"$T/u1.err\"]:is not a directory" \
              "inputs=[]:must be a non-empty array of strings" \
              "inputs=[1]:inputs\[0\] is not a string" \
              "input=[\"$T/pcut\"]:unknown parameter 'input'"; do
        p=${pc%%:*}
        want=${pc#*:}
        babeltrace2 --plugin-path="$PLUGIN_DIR" -c source.hvlab.ctf -p "$p" -c sink.hvlab.check \
            >/dev/null 2>"$T/sparam.err"; rc=$?
        if [ $rc -ne 1 ] || ! tr -s ' \n' ' ' <"$T/sparam.err" | grep -q -- "$want"; then
            bad="$bad [$p: exit $rc]"
        fi
    done
    babeltrace2 --plugin-path="$PLUGIN_DIR" -c source.hvlab.ctf -c sink.hvlab.check \
        >/dev/null 2>"$T/sparam.err"; rc=$?
    [ $rc -eq 1 ] && tr -s ' \n' ' ' <"$T/sparam.err" | grep -q "parameter 'inputs' is missing" ||
        bad="$bad [no inputs: exit $rc]"
    mkdir -p "$T/notrace"
    babeltrace2 --plugin-path="$PLUGIN_DIR" -c source.hvlab.ctf -p "inputs=[\"$T/notrace\"]" \
        -c sink.hvlab.check >/dev/null 2>"$T/sparam.err"; rc=$?
    [ $rc -eq 1 ] && tr -s ' \n' ' ' <"$T/sparam.err" | grep -q "no CTF trace below '$T/notrace'" ||
        bad="$bad [no trace: exit $rc]"
    babeltrace2 --plugin-path="$PLUGIN_DIR" help sink.hvlab.check >"$T/phelp.out" 2>&1
    grep -q "a trace cut short is read by source.hvlab.ctf" "$T/phelp.out" || bad="$bad [sink help]"
    if [ -z "$bad" ]; then
        e2e_ok "$NAME: source.hvlab.ctf refuses a missing directory, a file, no trace, bad or unknown parameters with a cause naming them"
    else
        e2e_notok "$NAME: source.hvlab.ctf refuses bad inputs with a cause naming them" "$bad" \
            "$(tail -4 "$T/sparam.err")"
    fi
fi

# --- damaged copies --------------------------------------------------------------
# The largest stream file (not metadata, not an index).
stream=$(find "$T/trace" -type f ! -name metadata ! -path '*/index/*' -printf '%s %P\n' |
         sort -n | tail -1 | cut -d' ' -f2-)
size=$(stat -c %s "$T/trace/$stream")
events=$(grep -o '^trace [^:]*: [0-9]*' "$T/text.out" | grep -o '[0-9]*$')

cp -r "$T/trace" "$T/cut"
truncate -s $((size * 2 / 5)) "$T/cut/$stream"
"$HV" analyze "$T/cut" >"$T/cut.out" 2>"$T/cut.err"; rc=$?
got=$(grep -o '^trace [^:]*: [0-9]*' "$T/cut.out" | grep -o '[0-9]*$')
if [ $rc -eq 2 ] && grep -q "$(basename "$stream")" "$T/cut.err" &&
   grep -q "byte offset $((size * 2 / 5))" "$T/cut.err" &&
   [ "${got:-0}" -gt 0 ] && [ "${got:-0}" -lt "${events:-0}" ] &&
   grep -q "read up to the error" "$T/cut.out"; then
    e2e_ok "$NAME: a truncated stream file is exit 2 naming it and its end ($got of $events events analysed)"
else
    e2e_notok "$NAME: a truncated stream file is exit 2 naming it and its end" "exit $rc, $got of $events events" \
        "$(head -3 "$T/cut.err")" "$(head -3 "$T/cut.out")"
fi
"$HV" analyze --json "$T/cut" >"$T/cut.json" 2>/dev/null; rc=$?
if [ $rc -eq 2 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/cut.json" 2>/dev/null; then
    e2e_ok "$NAME: --json of a truncated trace is still one valid object (exit 2)"
else
    e2e_notok "$NAME: --json of a truncated trace is still one valid object (exit 2)" "exit $rc"
fi

cp -r "$T/trace" "$T/flip"
head -c 128 /dev/zero | tr '\0' '\377' |
    dd of="$T/flip/$stream" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
"$HV" analyze "$T/flip" >"$T/flip.out" 2>"$T/flip.err"; rc=$?
got=$(grep -o '^trace [^:]*: [0-9]*' "$T/flip.out" | grep -o '[0-9]*$')
# the event the 0xff bytes make undecodable begins inside them, or a few
# bytes before when they start inside an event (its header or payload
# overwritten from the middle): no event of this trace is 256 bytes long
at=$(grep -o 'at byte offset [0-9]*, where event' "$T/flip.err" | grep -o '[0-9]*')
if [ $rc -eq 2 ] && grep -q "$(basename "$stream")" "$T/flip.err" &&
   [ -n "$at" ] && [ "$at" -gt $((size / 3 - 256)) ] && [ "$at" -lt $((size / 3 + 128)) ] &&
   [ "${got:-0}" -gt 0 ] && grep -q "read up to the error" "$T/flip.out"; then
    e2e_ok "$NAME: flipped bytes in a stream file are exit 2 naming it and the bad event's byte offset ($at; $got events analysed before)"
else
    e2e_notok "$NAME: flipped bytes in a stream file are exit 2 naming it and the bad event's byte offset" \
        "exit $rc, $got events" "$(head -3 "$T/flip.err")" "$(head -3 "$T/flip.out")"
fi
if [ -f "$PLUGIN_DIR/babeltrace2-plugin-hvlab.so" ]; then
    babeltrace2 --plugin-path="$PLUGIN_DIR" "$T/flip" -c sink.hvlab.check \
        >"$T/pflip.out" 2>"$T/pflip.err"; rc=$?
    # H4: source.ctf.fs stops; the sink's line adds hvlab's reader's
    # words: the same stream file and byte offset as hvlab analyze's
    if [ $rc -ne 0 ] && grep -q "read up to the error" "$T/pflip.out" &&
       grep "sink.hvlab.check: the upstream stopped" "$T/pflip.err" |
           grep -q "$(basename "$stream")' at byte offset $at, where event"; then
        e2e_ok "$NAME: the plugin prints what came before a corrupt stream and names it and the byte offset ($at)"
    else
        e2e_notok "$NAME: the plugin prints what came before a corrupt stream and names it and the byte offset" \
            "babeltrace2 exit $rc" "$(head -3 "$T/pflip.out")" "$(grep sink.hvlab "$T/pflip.err" | head -2)"
    fi
fi
# --- cut and corrupt traces never abort the reader (ctf.c R7, R10-R12) -----------
# Every cut of the largest stream file, byte 0 to 1200 in steps of 4 (its
# packet header, context and first events; the full sweep with
# HVLAB_E2E_FULL=1, a sample of it otherwise) and a few larger: the exit is
# 0, 1 or 2, never a signal, and the message names the file.
tdir=$(dirname "$stream")
if [ "${HVLAB_E2E_FULL:-0}" = 1 ]; then
    cuts="$(seq 0 4 1200)"
else
    cuts="0 4 32 60 64 72 80 84 88 92 96 100 120 160 200 300 500 1000 1200"
fi
bad=
ncut=0
mkdir -p "$T/sweep/t"
for f in "$T/trace/$tdir"/*; do [ -f "$f" ] && cp "$f" "$T/sweep/t/"; done
for n in $cuts 2048 4000 $((size / 2)) $((size - 4)); do
    head -c "$n" "$T/trace/$stream" >"$T/sweep/t/$(basename "$stream")"
    "$HV" analyze "$T/sweep" >/dev/null 2>"$T/sweep.err"; rc=$?
    ncut=$((ncut + 1))
    if [ $rc -gt 2 ] || ! grep -q "$T/sweep/t/$(basename "$stream")" "$T/sweep.err"; then
        bad="$bad $n(exit $rc)"
    fi
done
if [ -z "$bad" ]; then
    e2e_ok "$NAME: $ncut cuts of a stream file (bytes 0..1200 and larger) never abort and name the file"
else
    e2e_notok "$NAME: $ncut cuts of a stream file never abort and name the file" "cuts:$bad" \
        "$(head -c 400 "$T/sweep.err")"
fi

# A cut metadata file (upstream babeltrace2 hangs on it) is refused naming it
# and its size; the other trace in the directory is still read.
rm -rf "$T/two"; mkdir -p "$T/two"
cp -r "$T/trace" "$T/two/a"; cp -r "$T/trace" "$T/two/b"
head -c 3000 "$T/two/b/$tdir/metadata" >"$T/two/m" && mv "$T/two/m" "$T/two/b/$tdir/metadata"
timeout 120 "$HV" analyze "$T/two" >"$T/two.out" 2>"$T/two.err"; rc=$?
got=$(grep -o '^trace [^:]*: [0-9]*' "$T/two.out" | grep -o '[0-9]*$')
if [ $rc -eq 2 ] && grep -q "$T/two/b/$tdir/metadata" "$T/two.err" &&
   grep -q "3000 bytes" "$T/two.err" && [ "${got:-0}" -gt 0 ]; then
    e2e_ok "$NAME: a cut metadata file is exit 2 naming it and its size; the other trace is read ($got events)"
else
    e2e_notok "$NAME: a cut metadata file is exit 2 naming it and its size; the other trace is read" \
        "exit $rc, $got events" "$(head -c 400 "$T/two.err")"
fi

# A trace babeltrace2 refuses (its metadata text corrupt, framing intact)
# is left out naming it; the other is read, and the exit is 2.
cp "$T/trace/$tdir/metadata" "$T/two/b/$tdir/metadata"
printf 'ZZZZ garbage {{{' | dd of="$T/two/b/$tdir/metadata" bs=1 seek=2000 conv=notrunc 2>/dev/null
timeout 120 "$HV" analyze "$T/two" >"$T/two.out" 2>"$T/two.err"; rc=$?
got=$(grep -o '^trace [^:]*: [0-9]*' "$T/two.out" | grep -o '[0-9]*$')
if [ $rc -eq 2 ] && grep -q "$T/two/b/$tdir" "$T/two.err" &&
   grep -q "1 of the 2 traces could not be read" "$T/two.err" && [ "${got:-0}" -gt 0 ]; then
    e2e_ok "$NAME: an unreadable trace is left out naming it; the other is analysed ($got events, exit 2)"
else
    e2e_notok "$NAME: an unreadable trace is left out naming it; the other is analysed" \
        "exit $rc, $got events" "$(head -c 400 "$T/two.err")"
fi

# A cut file and a decode failure in another stream (the cut near the end
# of one, bad bytes 2000 bytes into the other): both are described, unless
# the cut came first in time (the other stream's first packets can start
# late): then reading stopped at the cut, and the cut alone is the message.
other=$(find "$T/trace/$tdir" -maxdepth 1 -type f ! -name metadata ! -name "$(basename "$stream")" \
        -printf '%s %f\n' | sort -n | tail -1 | cut -d' ' -f2-)
if [ -n "$other" ]; then
    osize=$(stat -c %s "$T/trace/$tdir/$other")
    rm -rf "$T/both"; cp -r "$T/trace" "$T/both"
    truncate -s $((size * 9 / 10)) "$T/both/$stream"
    head -c 128 /dev/zero | tr '\0' '\377' |
        dd of="$T/both/$tdir/$other" bs=1 seek=2000 conv=notrunc 2>/dev/null
    "$HV" analyze "$T/both" >/dev/null 2>"$T/both.err"; rc=$?
    if [ $rc -eq 2 ] && grep -q "$(basename "$stream")' is cut short" "$T/both.err" &&
       { grep -q "stopped reading .*$tdir/$other" "$T/both.err" ||
         ! grep -q "stopped reading" "$T/both.err"; }; then
        e2e_ok "$NAME: a decode failure in another stream is described beside the cut"
    else
        e2e_notok "$NAME: a decode failure in another stream is described beside the cut" \
            "exit $rc" "$(head -c 600 "$T/both.err")"
    fi
fi
exit 0
