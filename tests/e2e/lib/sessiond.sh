#!/usr/bin/env bash
# tests/e2e/lib/sessiond.sh - start the LTTng session daemon if none answers.
# Exit 0 when a daemon answers afterwards.  `make check` runs it once so the
# tracing tests do not each pay a cold start.
. "$(dirname "$0")/common.sh"
e2e_sessiond
