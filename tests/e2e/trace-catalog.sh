#!/usr/bin/env bash
# tests/e2e/trace-catalog.sh - the event catalog cannot drift.
#
# docs/trace-events.md must be byte for byte what mk/gen-trace-doc.py makes
# of trace/hvlab_*.h (the diff is shown when not), every event must name
# the function that emits it, and every provider header must be compiled in
# (trace/trace.h and trace/providers.c include it).  analysis/events.def,
# the catalog as analysis/ decodes it, is generated from the same headers.
set -u
. "$(dirname "$0")/lib/common.sh"
cd "$E2E_ROOT"
if out=$(python3 mk/gen-trace-doc.py --check docs/trace-events.md); then
    e2e_ok "docs/trace-events.md matches the provider headers"
else
    e2e_notok "docs/trace-events.md matches the provider headers (run make docs)"
    printf '%s\n' "$out" | head -n 60 >&2
fi
if out=$(python3 mk/gen-trace-doc.py --check-def analysis/events.def); then
    e2e_ok "analysis/events.def matches the provider headers"
else
    e2e_notok "analysis/events.def matches the provider headers (run make docs)" "$out"
fi
if out=$(python3 mk/gen-trace-doc.py --lint); then
    e2e_ok "every provider is compiled in and every event names its emitter"
else
    e2e_notok "every provider is compiled in and every event names its emitter" "$out"
fi
exit 0
