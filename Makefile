# hvlab - build, test, benchmark.
#
#   make            build everything into build/ (the CLI is build/hvlab)
#   make check      run every test; last line "N passed, N failed, N skipped"
#   make bench      run the benchmarks and print their figures
#   make fuzz       the AFL++ and libFuzzer builds; make fuzz-smoke runs them
#                   briefly; make bench-cov measures a campaign's reach
#                   into core/ (docs/fuzz-build.md)
#   make demo       install what is missing, build, run the flagship scenario
#   make deps       install the Debian packages hvlab uses (root) or say how
#   make docs       regenerate docs/trace-events.md from trace/hvlab_*.h
#   make install PREFIX=/usr/local
#   make WERROR=-Werror   fail on any warning (CI does, with gcc and clang)
#
# Rules: new files are picked up by their folder, so nothing here needs
# editing to add a .c file; every object waits for `deps` (order-only), so
# a parallel build on a fresh machine never compiles before the packages
# are in; analysis/ links babeltrace2 and nothing of core/ (DESIGN.md), and
# is never part of libhvlab.a.

CC       ?= gcc
PREFIX   ?= /usr/local
BUILD    ?= build
OPT      ?= -O2
CPPFLAGS += -I. -D_GNU_SOURCE -D__XEN_TOOLS__ -DLTTNG_UST_COMPAT_API_VERSION=1
CFLAGS   += -std=gnu11 $(OPT) -g -Wall -Wextra -pthread $(WERROR)
LDLIBS   += -llttng-ust -llttng-ctl -ldl -lpthread -lm -lboost_context

# babeltrace2 (analysis/ only).  The fallbacks hold before `make deps` has
# installed pkg-config's file for it: the headers live in /usr/include.
BT_CFLAGS := $(shell pkg-config --cflags babeltrace2 2>/dev/null)
BT_LIBS   := $(or $(shell pkg-config --libs babeltrace2 2>/dev/null),-lbabeltrace2)

# The hypervisor and everything above it, as one library.  New files are
# picked up by their folder; nothing here needs editing to add one.
LIB_SRCS   := $(wildcard core/*.c core/mm/*.c core/shadow/*.c core/grant/*.c \
                         inject/*.c guest/*.c toolstack/*.c)
TRACE_SRCS := $(filter-out trace/providers.c,$(wildcard trace/*.c))
CLI_SRCS   := $(wildcard tools/hvlab/*.c)
ANALYSIS_SRCS := $(wildcard analysis/*.c)
TOOL_SRCS  := $(wildcard analysis/cmd/*.c)
UNIT_SRCS  := $(wildcard tests/unit/test-*.c)
E2E_SRCS   := $(wildcard tests/e2e/*.c)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_LIB_SRCS := $(wildcard bench/lib/*.c)

LIB_OBJS     := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
NOTRACE_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj-notrace/%.o)
TRACE_OBJS   := $(TRACE_SRCS:%.c=$(BUILD)/obj/%.o)
PROVIDER_OBJ := $(BUILD)/obj/trace/providers.o
CLI_OBJS     := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
ANALYSIS_OBJS := $(ANALYSIS_SRCS:%.c=$(BUILD)/obj/%.o)
TOOL_BINS    := $(TOOL_SRCS:analysis/cmd/%.c=$(BUILD)/%)
UNIT_BINS    := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
E2E_BINS     := $(E2E_SRCS:tests/e2e/%.c=$(BUILD)/tests/e2e/%)
BENCH_BINS   := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
BENCH_LIB_OBJS := $(BENCH_LIB_SRCS:%.c=$(BUILD)/obj/%.o)

LIB         := $(BUILD)/libhvlab.a
LIB_NOTRACE := $(BUILD)/libhvlab-notrace.a

.PHONY: all deps check bench demo docs install clean headers
all: deps $(BUILD)/hvlab $(TOOL_BINS) $(UNIT_BINS) $(E2E_BINS) $(BENCH_BINS) headers

deps:
	@bash mk/deps.sh --check-or-install

$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj-notrace/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DHVLAB_NO_TRACE $(CFLAGS) -MMD -MP -c $< -o $@

# analysis/ and its tools see babeltrace2's headers.
$(ANALYSIS_OBJS): CPPFLAGS += $(BT_CFLAGS)

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIB_NOTRACE): $(NOTRACE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/hvlab: $(CLI_OBJS) $(ANALYSIS_OBJS) $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ)
	$(CC) $(CFLAGS) $(CLI_OBJS) $(ANALYSIS_OBJS) $(FUZZ_LIB) $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ) \
	    -o $@ $(LDLIBS) $(BT_LIBS)

# Small trace tools (analysis/cmd/NAME.c -> build/NAME): babeltrace2 only.
$(TOOL_BINS): $(BUILD)/%: analysis/cmd/%.c $(ANALYSIS_OBJS) $(BUILD)/obj/toolstack/image.o | deps
	$(CC) $(CPPFLAGS) $(BT_CFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(ANALYSIS_OBJS) \
	    $(BUILD)/obj/toolstack/image.o -o $@ $(BT_LIBS) -lm

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ) -o $@ $(LDLIBS)

# test-trace-layout compiles analysis/layout.h beside core/'s headers and
# links both (analysis/layout.h L2).
$(BUILD)/tests/unit/test-trace-layout: tests/unit/test-trace-layout.c $(BUILD)/obj/analysis/layout.o $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(BUILD)/obj/analysis/layout.o $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ) -o $@ $(LDLIBS)

# Unit tests of analysis/ (tests/unit/test-analysis-*.c) link analysis/ and
# babeltrace2 (and the image reader, toolstack/image.c), nothing of core/.
ANALYSIS_LINK := $(ANALYSIS_OBJS) $(BUILD)/obj/toolstack/image.o
ANALYSIS_UNIT_BINS := $(filter $(BUILD)/tests/unit/test-analysis-%,$(UNIT_BINS))
$(ANALYSIS_UNIT_BINS): $(BUILD)/tests/unit/test-analysis-%: tests/unit/test-analysis-%.c $(ANALYSIS_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BT_CFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(ANALYSIS_LINK) \
	    $(ANALYSIS_UNIT_EXTRA) -o $@ $(BT_LIBS) -lm
# test-analysis-source-ctf runs the plugin's source (analysis/plugin/
# source_ctf.c) in a graph of its own, without loading the .so.
SOURCE_CTF_OBJ := $(BUILD)/obj/analysis/plugin/source_ctf.o
$(SOURCE_CTF_OBJ): CPPFLAGS += $(BT_CFLAGS)
$(BUILD)/tests/unit/test-analysis-source-ctf: $(SOURCE_CTF_OBJ)
$(BUILD)/tests/unit/test-analysis-source-ctf: ANALYSIS_UNIT_EXTRA := $(SOURCE_CTF_OBJ)

# The babeltrace2 plugin (analysis/plugin/: hvlab.c registers its classes,
# sink.hvlab.check and source.hvlab.ctf), right in $(BUILD)/ so
# `babeltrace2 --plugin-path=$(BUILD) TRACE -c sink.hvlab.check` finds it
# (babeltrace2 2.0 loads every *.so of a --plugin-path directory, not below
# it).  A shared object wants analysis/ compiled a second time,
# position-independent, into $(BUILD)/obj-pic/; the plugin's own files are
# picked up by their folder.
PLUGIN_SO := $(BUILD)/babeltrace2-plugin-hvlab.so
PLUGIN_OBJS := $(patsubst %.c,$(BUILD)/obj-pic/%.o,$(wildcard analysis/plugin/*.c))
ANALYSIS_PIC_OBJS := $(ANALYSIS_SRCS:%.c=$(BUILD)/obj-pic/%.o) $(BUILD)/obj-pic/toolstack/image.o
$(BUILD)/obj-pic/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BT_CFLAGS) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@
$(PLUGIN_SO): $(PLUGIN_OBJS) $(ANALYSIS_PIC_OBJS) | deps
	$(CC) $(CFLAGS) -fPIC -shared $(PLUGIN_OBJS) $(ANALYSIS_PIC_OBJS) -o $@ $(BT_LIBS) -lm
all: $(PLUGIN_SO)

# End-to-end helper programs: the recorder, the trace reader, the providers.
$(BUILD)/tests/e2e/%: tests/e2e/%.c $(ANALYSIS_OBJS) $(BUILD)/obj/toolstack/image.o $(TRACE_OBJS) $(PROVIDER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BT_CFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(ANALYSIS_OBJS) \
	    $(BUILD)/obj/toolstack/image.o $(TRACE_OBJS) \
	    $(PROVIDER_OBJ) -o $@ $(LDLIBS) $(BT_LIBS)

# Benchmarks link both libraries' worth of objects only through their own
# choice: bench/*-notrace*.c link the library built without tracepoints.
# bench/lib/*.c (helpers, the bare comparison provider) go into every one.
$(BUILD)/bench/%: bench/%.c $(LIB) $(LIB_NOTRACE) $(TRACE_OBJS) $(PROVIDER_OBJ) $(BENCH_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(BENCH_LIB_OBJS) \
	    $(if $(findstring notrace,$*),$(LIB_NOTRACE),$(LIB)) $(TRACE_OBJS) $(PROVIDER_OBJ) -o $@ $(LDLIBS)

# bench-analyze also feeds the engine itself (engine_events_per_s).
# It links analysis/ and nothing of core/ (bench/lib/clock.h is all inline).
$(BUILD)/bench/bench-analyze: bench/bench-analyze.c $(ANALYSIS_LINK) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BT_CFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< \
	    $(ANALYSIS_LINK) -o $@ $(BT_LIBS) -lm

# Every header compiles on its own.
HEADERS := $(filter-out trace/hvlab_%.h,$(wildcard core/*.h core/mm/*.h core/shadow/*.h \
             core/grant/*.h inject/*.h guest/*.h toolstack/*.h trace/*.h analysis/*.h \
             analysis/plugin/*.h))
headers: $(HEADERS:%.h=$(BUILD)/hdr/%.ok)
$(BUILD)/hdr/%.ok: %.h | deps
	@mkdir -p $(dir $@)
	@printf '#include "%s"\n' $< | $(CC) $(CPPFLAGS) $(BT_CFLAGS) $(CFLAGS) -fsyntax-only -x c - && touch $@

# The event catalog is generated from the provider headers; a test in
# `make check` fails when the committed copy differs.
docs:
	python3 mk/gen-trace-doc.py --output docs/trace-events.md
	python3 mk/gen-trace-doc.py --def analysis/events.def

# Tests that record traces start the LTTng session daemon themselves
# (tests/e2e/lib/common.sh); starting it here too saves each a cold start.
check: all
	@bash tests/e2e/lib/sessiond.sh >/dev/null 2>&1 || true
	@BUILD=$(BUILD) bash tests/run.sh

bench: all
	@BUILD=$(BUILD) bash bench/run.sh

demo: all
	@BUILD=$(BUILD) bash mk/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/hvlab/scenarios \
	    $(DESTDIR)$(PREFIX)/share/doc/hvlab
	install -m 755 $(BUILD)/hvlab $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 scenarios/*.hvl $(DESTDIR)$(PREFIX)/share/hvlab/scenarios/
	install -m 644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/hvlab/

# ---- the fuzzer (fuzz/; docs/fuzz.md, docs/fuzz-build.md) ---------------
# fuzz/*.c (not the mains in fuzz/main/) form $(BUILD)/libhvlab-fuzz.a,
# built by `make all` with $(CC) for the unit tests test-fuzz-* and
# bench-fuzz.  `make fuzz` rebuilds the library, core, guest and toolstack
# with each fuzzing compiler in its own object dir under $(FZ), without
# tracepoints (-DHVLAB_NO_TRACE) and without LTTng (--as-needed drops it):
# a harness is one thread, so the copy-on-write faults of a fork reset take
# no TLB-shootdown round trip (docs/fuzz-build.md "Speed").  `hvlab repro
# --trace` replays a finding with tracing.  `make fuzz-smoke` runs each
# surface's AFL++ build briefly.
FUZZ_SRCS     := $(wildcard fuzz/*.c)
FUZZ_OBJS     := $(FUZZ_SRCS:%.c=$(BUILD)/obj/%.o)
FUZZ_LIB      := $(BUILD)/libhvlab-fuzz.a
FUZZ_SURFACES := mm grant shadow restore race hvmrace
FZ            := $(BUILD)/fuzz
FZ_MUTATORS   := $(FZ)/mutator-race.so $(FZ)/mutator-hvmrace.so   # fuzz/main/mutator.c
FZ_CFLAGS     := -std=gnu11 -O2 -g -Wall -Wextra -pthread -DFUZZ_ABORT -DHVLAB_NO_TRACE
FZ_LIB_SRCS   := $(LIB_SRCS) $(FUZZ_SRCS)
fz_comma := ,
fz_enum_mm := FUZZ_MM
fz_enum_grant := FUZZ_GRANT
fz_enum_shadow := FUZZ_SHADOW
fz_enum_restore := FUZZ_RESTORE
fz_enum_race := FUZZ_RACE
fz_enum_hvmrace := FUZZ_HVMRACE

.PHONY: fuzz fuzz-afl fuzz-libfuzzer fuzz-smoke fuzz-dict fuzz-seeds
all: $(FUZZ_LIB)

$(FUZZ_LIB): $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

# `hvlab repro` (tools/hvlab/cmd_repro.c) replays fuzzer inputs.
$(BUILD)/hvlab: $(FUZZ_LIB)

$(BUILD)/tests/unit/test-fuzz-%: tests/unit/test-fuzz-%.c $(FUZZ_LIB) $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(FUZZ_LIB) $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ) -o $@ $(LDLIBS)

# test-fuzz-mutator loads the race mutators as afl-fuzz does (dlopen) and
# runs their outputs under the snapshot reset: linked as test-fuzz-snap.
$(BUILD)/tests/unit/test-fuzz-mutator: tests/unit/test-fuzz-mutator.c $(FUZZ_LIB) $(LIB_NOTRACE) $(FZ_MUTATORS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DMUTATOR_DIR='"$(FZ)"' -MMD -MP -MF $@.d -MT $@ $< $(FUZZ_LIB) \
	    $(LIB_NOTRACE) -o $@ -Wl,--as-needed $(LDLIBS) $(fz_snap_wrap)

# test-audit-incr runs fuzz programs call by call (core/audit.h A1-A9),
# and under the snapshot reset: linked as test-fuzz-snap.
$(BUILD)/tests/unit/test-audit-incr: tests/unit/test-audit-incr.c $(FUZZ_LIB) $(LIB_NOTRACE)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(FUZZ_LIB) \
	    $(LIB_NOTRACE) -o $@ -Wl,--as-needed $(LDLIBS) $(fz_snap_wrap)

# bench-fuzz links hvlab as the harnesses do: no tracepoints, no LTTng.
$(BUILD)/bench/bench-fuzz: bench/bench-fuzz.c $(FUZZ_LIB) $(LIB_NOTRACE)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(FUZZ_LIB) \
	    $(LIB_NOTRACE) -o $@ -Wl,--as-needed $(LDLIBS) $(fz_snap_wrap)

# test-fuzz-snap runs the snapshot reset: linked as bench-fuzz, with the
# allocation wraps (fz_snap_wrap).
$(BUILD)/tests/unit/test-fuzz-snap: tests/unit/test-fuzz-snap.c $(FUZZ_LIB) $(LIB_NOTRACE)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(FUZZ_LIB) \
	    $(LIB_NOTRACE) -o $@ -Wl,--as-needed $(LDLIBS) $(fz_snap_wrap)

headers: $(patsubst %.h,$(BUILD)/hdr/%.ok,$(wildcard fuzz/*.h))

FORCE:

# One fuzzing build: $(1) name, $(2) compiler, $(3) compile flags, $(4) link
# flags, $(5) the main (fuzz/main/$(5).c).  Binaries $(FZ)/$(1)-SURFACE.
# Its objects and binaries depend on a stamp holding the compile and link
# flags, rewritten only when they change, so a changed flag rebuilds them.
define FZ_VARIANT
FZ_OBJS_$(1) := $$(FZ_LIB_SRCS:%.c=$$(FZ)/obj-$(1)/%.o)
FZ_BINS_$(1) := $$(FUZZ_SURFACES:%=$$(FZ)/$(1)-%)
$$(FZ)/obj-$(1)/.flags: FORCE
	@mkdir -p $$(dir $$@)
	@echo '$(2) $$(CPPFLAGS) $$(FZ_CFLAGS) $(3) / $(4)' | cmp -s - $$@ || \
	    echo '$(2) $$(CPPFLAGS) $$(FZ_CFLAGS) $(3) / $(4)' >$$@
$$(FZ)/obj-$(1)/%.o: %.c $$(FZ)/obj-$(1)/.flags | deps
	@mkdir -p $$(dir $$@)
	$(2) $$(CPPFLAGS) $$(FZ_CFLAGS) $(3) -MMD -MP -c $$< -o $$@
$$(FZ)/libhvlab-fuzz-$(1).a: $$(FZ_OBJS_$(1))
	@rm -f $$@
	ar rcs $$@ $$^
$$(FZ_BINS_$(1)): $$(FZ)/$(1)-%: fuzz/main/$(5).c $$(FZ)/libhvlab-fuzz-$(1).a $$(FZ)/obj-$(1)/.flags
	$(2) $$(CPPFLAGS) $$(FZ_CFLAGS) $(3) -DFUZZ_SURFACE=$$(fz_enum_$$*) -MMD -MP -MF $$@.d -MT $$@ \
	    $$< $$(FZ)/libhvlab-fuzz-$(1).a -o $$@ $(4) -Wl,--as-needed $$(LDLIBS)
endef
# The snapshot reset (HVLAB_FUZZ_RESET=snap, fuzz/snap.h) needs every
# allocation of the hypervisor in its arena: these wraps send them to
# fuzz/snap_alloc.c (which passes all others on).  On the afl and lf links
# only, never the ASan builds: ASan intercepts the same functions, and an
# arena block has no redzones and no quarantine, so the overflows and
# use-after-frees ASan is there to catch would pass unseen.
fz_snap_wrap := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=posix_memalign,--wrap=aligned_alloc
$(eval $(call FZ_VARIANT,afl,afl-clang-fast,,$(fz_snap_wrap),afl))
# fuzz/nocov: files built without coverage - the snapshot machinery (its
# control flow depends on the run before, fuzz/snap.c S11) and the
# oracle (the audits and the isolation walk judge the hypervisor; they are
# not the code under test, and their loops would be most of the counting):
# AFL++'s denylist, and clang's ignorelist for the libFuzzer builds.
fz_nocov_objs := $(patsubst src:%.c,$(FZ)/obj-afl/%.o,$(shell cat fuzz/nocov))
$(fz_nocov_objs): export AFL_LLVM_DENYLIST := $(CURDIR)/fuzz/nocov
$(fz_nocov_objs): fuzz/nocov
$(eval $(call FZ_VARIANT,cmplog,AFL_LLVM_CMPLOG=1 afl-clang-fast,,,afl))
fz_lf_wrap := -Wl,--wrap=__sanitizer_cov_8bit_counters_init
fz_lf_nocov := -fsanitize-coverage-ignorelist=$(CURDIR)/fuzz/nocov
$(eval $(call FZ_VARIANT,lf,clang,-fsanitize=fuzzer-no-link $(fz_lf_nocov),-fsanitize=fuzzer $(fz_lf_wrap) $(fz_snap_wrap),libfuzzer))
$(eval $(call FZ_VARIANT,lf-asan,clang,-fsanitize=fuzzer-no-link$(fz_comma)address$(fz_comma)undefined $(fz_lf_nocov) \
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer,-fsanitize=fuzzer$(fz_comma)address$(fz_comma)undefined $(fz_lf_wrap),libfuzzer))
$(FZ_OBJS_lf) $(FZ_OBJS_lf-asan): fuzz/nocov

# Source-based coverage of the same harness (one input per process, A5),
# for mk/fuzz-cov.sh: `make bench-cov` measures what a campaign reaches.
$(eval $(call FZ_VARIANT,cov,clang,-fprofile-instr-generate -fcoverage-mapping,-fprofile-instr-generate,afl))
.PHONY: fuzz-cov bench-cov
fuzz-cov: $(FZ_BINS_cov)
bench-cov: fuzz-afl fuzz-cov
	@BUILD=$(BUILD) bash mk/fuzz-cov.sh

# The race surfaces' AFL++ custom mutator (fuzz/main/mutator.c): plain
# shared objects loaded by afl-fuzz (AFL_CUSTOM_MUTATOR_LIBRARY), one per
# race surface, reading the input format from fuzz/race_input.c alone.
$(FZ)/mutator-%.so: fuzz/main/mutator.c fuzz/race_input.c fuzz/race_input.h fuzz/fuzz.h | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -fPIC -DFUZZ_SURFACE=$(fz_enum_$*) \
	    fuzz/main/mutator.c fuzz/race_input.c -o $@

# The baseline of bench-fuzz: the AFL++ persistent loop doing nothing.
$(FZ)/afl-empty: fuzz/main/afl.c | deps
	@mkdir -p $(dir $@)
	afl-clang-fast $(CPPFLAGS) $(FZ_CFLAGS) -DFUZZ_EMPTY $< -o $@

# Generators (plain $(CC)): the seed streams and the AFL dictionaries.
$(FZ)/gen-%: fuzz/main/gen-%.c $(FUZZ_LIB) $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(FUZZ_LIB) $(LIB) $(TRACE_OBJS) \
	    $(PROVIDER_OBJ) -o $@ $(LDLIBS)

fuzz-afl: $(FZ_BINS_afl) $(FZ_BINS_cmplog) $(FZ)/afl-empty $(FZ_MUTATORS)
fuzz-libfuzzer: $(FZ_BINS_lf) $(FZ_BINS_lf-asan)
fuzz: fuzz-afl fuzz-libfuzzer

fuzz-seeds: $(FZ)/gen-seeds
	$(FZ)/gen-seeds fuzz/seeds
fuzz-dict: $(FZ)/gen-dict
	$(FZ)/gen-dict fuzz/dict

fuzz-smoke: fuzz-afl $(FZ_BINS_lf-asan)
	@BUILD=$(BUILD) FUZZ_SURFACES="$(FUZZ_SURFACES)" bash mk/fuzz-smoke.sh

# bench-fuzz drives the AFL++ and libFuzzer builds.
bench: $(FZ_BINS_afl) $(FZ)/afl-empty $(FZ_BINS_lf) $(FZ)/lf-asan-mm $(FZ_MUTATORS)

# The bug zoo as a benchmark (bench/bench-fuzz-zoo.c, docs/bugzoo.md "Time
# to find"): long, so not part of `make bench` (there it prints a skip).
# BENCH_ZOO_RUNS, BENCH_ZOO_CAP, BENCH_ZOO_CLEAN_SECS, BENCH_ZOO_ONLY.
.PHONY: bench-zoo
$(BUILD)/bench/bench-fuzz-zoo: bench/bench-fuzz-zoo.c $(FUZZ_LIB) $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(FUZZ_LIB) $(LIB) \
	    $(TRACE_OBJS) $(PROVIDER_OBJ) -o $@ $(LDLIBS)
bench-zoo: $(BUILD)/bench/bench-fuzz-zoo $(FZ)/afl-mm $(FZ)/afl-grant $(FZ)/afl-shadow \
    $(FZ)/afl-restore $(FZ)/afl-race $(FZ)/afl-hvmrace $(FZ_MUTATORS)
	BENCH_ZOO=1 BUILD=$(BUILD) $(BUILD)/bench/bench-fuzz-zoo

# ---- hvlab top: USDT probes and libbpf (trace/usdt.h, trace/bpf/, docs/top.md)
# The BPF object is built against a vmlinux.h dumped from the running
# kernel's BTF, then wrapped in a skeleton (bpftool gen skeleton) that
# tools/hvlab/cmd_top.c includes.  Without /sys/kernel/btf/vmlinux,
# bpftool, clang or libbpf's headers, hvlab is built all the same and
# `hvlab top` names what was missing (exit 2).
TOP_BPF_DIR := $(BUILD)/bpf
BPFTOOL ?= $(or $(shell command -v bpftool 2>/dev/null),$(wildcard /usr/sbin/bpftool))
TOP_UNAME_M := $(shell uname -m)
TOP_TARGET_ARCH = $(or $(TOP_ARCH_$(TOP_UNAME_M)),$(TOP_UNAME_M))
TOP_ARCH_x86_64 := x86
TOP_ARCH_i686 := x86
TOP_ARCH_aarch64 := arm64
TOP_ARCH_armv7l := arm
TOP_ARCH_riscv64 := riscv
TOP_ARCH_s390x := s390
TOP_ARCH_ppc64le := powerpc
TOP_ARCH_loongarch64 := loongarch
TOP_MISSING := $(strip \
    $(if $(wildcard /sys/kernel/btf/vmlinux),,/sys/kernel/btf/vmlinux) \
    $(if $(BPFTOOL),,bpftool) \
    $(if $(shell command -v clang 2>/dev/null),,clang) \
    $(if $(wildcard /usr/include/bpf/libbpf.h),,libbpf-dev))
ifeq ($(TOP_MISSING),)
TOP_ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu
$(TOP_BPF_DIR)/vmlinux.h: | deps
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@
$(TOP_BPF_DIR)/hvlab_top.bpf.o: trace/bpf/hvlab_top.bpf.c trace/bpf/hvlab_top.h $(TOP_BPF_DIR)/vmlinux.h
	clang -O2 -g -Wall -target bpf -D__TARGET_ARCH_$(TOP_TARGET_ARCH) -I$(TOP_BPF_DIR) -Itrace/bpf \
	    -I$(TOP_ARCH_INC) -c $< -o $@
$(TOP_BPF_DIR)/hvlab_top.skel.h: $(TOP_BPF_DIR)/hvlab_top.bpf.o
	$(BPFTOOL) gen skeleton $< name hvlab_top > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/tools/hvlab/cmd_top.o: $(TOP_BPF_DIR)/hvlab_top.skel.h
$(BUILD)/obj/tools/hvlab/cmd_top.o: CPPFLAGS += -DHVLAB_TOP_BPF -I$(TOP_BPF_DIR)
$(BUILD)/hvlab: LDLIBS += -lbpf -lelf -lz
else
$(BUILD)/obj/tools/hvlab/cmd_top.o: CPPFLAGS += -DHVLAB_TOP_MISSING='"$(TOP_MISSING)"'
endif
# test-top links the pure half of `hvlab top` (tools/hvlab/top_model.o,
# and the hypercall names it shares with the trace report).
TOP_MODEL_OBJS := $(BUILD)/obj/tools/hvlab/top_model.o $(BUILD)/obj/analysis/hcall_name.o
$(BUILD)/tests/unit/test-top: tests/unit/test-top.c $(TOP_MODEL_OBJS) $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(TOP_MODEL_OBJS) $(LIB) $(TRACE_OBJS) $(PROVIDER_OBJ) -o $@ $(LDLIBS)
# ---- end of hvlab top ------------------------------------------------------

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -path '$(BUILD)/xen-checker' -prune -o -name '*.d' -type f -print 2>/dev/null)
