/*
 * bench/bench-mmu-update-notrace.c - the mmu_update throughput benchmark
 * linked against the library built with tracepoints compiled out (the
 * Makefile picks that library for bench files named *notrace*).  The
 * traced twin runs this one as a child (`--raw SECS`) and prints the ratio.
 */
#define BENCH_NO_TWIN
#include "bench/bench-mmu-update.c"
