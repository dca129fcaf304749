#!/usr/bin/env bash
# mk/fuzz-smoke.sh - run each fuzz surface's AFL++ build for a short while
# (`make fuzz-smoke`; docs/fuzz-build.md).
#
# Rules:
#   Z1  Per surface: $BUILD/fuzz/afl-SURFACE, persistent mode, for
#       FUZZ_SMOKE_SECS seconds (default 30) with AFL_NO_UI=1, a temporary
#       output dir, the seed corpus fuzz/seeds/SURFACE (a one-byte seed when
#       there is none) and fuzz/dict/SURFACE.dict when present.
#   Z2  Printed per surface: execs, exec/s, stability, paths (corpus
#       count), crashes - from the run's fuzzer_stats.
#   Z3  The smoke fails when a surface's binary is missing, afl-fuzz did
#       not start (no fuzzer_stats), or any crash was saved; the first
#       crash's input and the harness's report on it are printed.
#   Z4  FUZZ_SURFACES names the surfaces (default: all six).
#   Z5  A race surface (race, hvmrace) runs with its custom mutator
#       $BUILD/fuzz/mutator-SURFACE.so (fuzz/main/mutator.c); the smoke
#       fails when the mutator is not built.  The race surfaces and grant
#       walk the queue in order (-Z), as the campaigns do
#       (tools/hvlab/cmd_fuzz.c F10, F11; fuzz_surface_in_order).
#   Z6  Then the ASan + UBSan oracle: per surface, the libFuzzer build
#       $BUILD/fuzz/lf-asan-SURFACE runs the same seeds and then mutates
#       for FUZZ_SMOKE_ASAN_SECS seconds (default 10) in a temporary
#       corpus dir.  A missing binary, a non-zero exit (a sanitizer report,
#       a violation, a crash) fails the smoke; the report's first lines
#       and the input libFuzzer wrote are printed and the input is kept.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECS=${FUZZ_SMOKE_SECS:-30}
SURFACES=${FUZZ_SURFACES:-mm grant shadow restore race hvmrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

stat() { sed -n "s/^$1 *: *//p" "$2" | head -n 1; }

printf '%-8s %10s %10s %10s %7s %8s\n' surface execs exec/s stability paths crashes
for s in $SURFACES; do
    bin=$BUILD/fuzz/afl-$s
    if [ ! -x "$bin" ]; then
        echo "$s: no harness ($bin not built)"
        failed=1
        continue
    fi
    seeds=fuzz/seeds/$s
    if ! compgen -G "$seeds/*" >/dev/null; then
        seeds=$tmp/seeds-$s
        mkdir -p "$seeds"
        printf '\0' >"$seeds/zero"
    fi
    dict=()
    [ -f "fuzz/dict/$s.dict" ] && dict=(-x "fuzz/dict/$s.dict")
    mut=() order=()
    case $s in race|hvmrace)
        if [ ! -f "$BUILD/fuzz/mutator-$s.so" ]; then
            echo "$s: no race mutator ($BUILD/fuzz/mutator-$s.so not built)"
            failed=1
            continue
        fi
        mut=(AFL_CUSTOM_MUTATOR_LIBRARY="$PWD/$BUILD/fuzz/mutator-$s.so")
        case $BUILD in /*) mut=(AFL_CUSTOM_MUTATOR_LIBRARY="$BUILD/fuzz/mutator-$s.so");; esac
        ;;
    esac
    # the queue in order where hvlab fuzz walks it so (fuzz_surface_in_order)
    case $s in grant|race|hvmrace) order=(-Z);; esac
    out=$tmp/out-$s
    env "${mut[@]}" AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
        afl-fuzz -i "$seeds" -o "$out" -V "$SECS" "${dict[@]}" "${order[@]}" -- "$bin" \
        >"$tmp/log-$s" 2>&1
    st=$out/default/fuzzer_stats
    if [ ! -f "$st" ]; then
        echo "$s: afl-fuzz did not start:"
        tail -n 15 "$tmp/log-$s" | sed 's/^/    /'
        failed=1
        continue
    fi
    crashes=$(stat saved_crashes "$st")
    printf '%-8s %10s %10s %10s %7s %8s\n' "$s" "$(stat execs_done "$st")" \
        "$(stat execs_per_sec "$st")" "$(stat stability "$st")" \
        "$(stat corpus_count "$st")" "${crashes:-?}"
    if [ "${crashes:-1}" != 0 ]; then
        failed=1
        first=$(ls "$out/default/crashes"/id:* 2>/dev/null | head -n 1)
        if [ -n "$first" ]; then
            mkdir -p "$BUILD/fuzz/smoke-crashes"
            cp "$first" "$BUILD/fuzz/smoke-crashes/$s-crash"
            echo "  $s: crash input kept as $BUILD/fuzz/smoke-crashes/$s-crash;"
            echo "  the harness says:"
            "$bin" "$first" 2>&1 | tail -n 20 | sed 's/^/    /'
        fi
    fi
done
# Z6: the sanitizers, on the seeds and then briefly mutating.
ASAN_SECS=${FUZZ_SMOKE_ASAN_SECS:-10}
printf '\n%-8s %10s %10s  %s\n' surface runs exec/s "ASan + UBSan (libFuzzer, ${ASAN_SECS} s)"
for s in $SURFACES; do
    bin=$BUILD/fuzz/lf-asan-$s
    if [ ! -x "$bin" ]; then
        echo "$s: no ASan harness ($bin not built: make fuzz-libfuzzer)"
        failed=1
        continue
    fi
    case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
    seeds=$PWD/fuzz/seeds/$s
    compgen -G "$seeds/*" >/dev/null || seeds=$tmp/seeds-$s
    mkdir -p "$tmp/asan-$s/corpus" "$seeds"
    compgen -G "$seeds/*" >/dev/null || printf '\0' >"$seeds/zero"
    log=$tmp/asan-$s/log
    (cd "$tmp/asan-$s" && "$bin" -max_total_time="$ASAN_SECS" \
        -print_final_stats=1 corpus "$seeds" >"$log" 2>&1)
    rc=$?
    # A crash prints the final stats twice: the last ones.
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    printf '%-8s %10s %10s  %s\n' "$s" "${runs:-?}" "${rate:-?}" \
        "$([ $rc -eq 0 ] && echo clean || echo "exit $rc")"
    if [ $rc -ne 0 ]; then
        failed=1
        grep -m 8 -E 'runtime error|ERROR: |hvlab-fuzz:|^ *[0-9]+: dom' "$log" | sed 's/^/    /'
        art=$(ls "$tmp/asan-$s"/crash-* "$tmp/asan-$s"/leak-* "$tmp/asan-$s"/timeout-* 2>/dev/null | head -n 1)
        if [ -n "$art" ]; then
            mkdir -p "$BUILD/fuzz/smoke-crashes"
            cp "$art" "$BUILD/fuzz/smoke-crashes/$s-asan-crash"
            echo "  $s: input kept as $BUILD/fuzz/smoke-crashes/$s-asan-crash" \
                "(replay: $bin $BUILD/fuzz/smoke-crashes/$s-asan-crash)"
        fi
    fi
done
[ $failed -eq 0 ] && echo "fuzz-smoke: ok" || echo "fuzz-smoke: FAILED"
exit $failed
