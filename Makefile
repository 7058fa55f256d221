# uvio: userspace poll-mode virtio drivers.
#   make                 build/libuvio.a, build/libuvio.so, build/uvio.pc, tools and apps
#   make SANITIZE=1      the same with ASan+UBSan, in build/san/
#   make check           every test suite (unit, VM, host, the sanitized pass, fuzz)
#   make check-unit      unit tests only (no root, no VM)
#   make check-san       host and VM suites over the ASan+UBSan build
#   make install PREFIX=/usr/local [LIBDIR=...] [DESTDIR=...]; make uninstall
#   make man             man pages of the tools (help2man, from their --help)
#   make demo            boot the built-in VM and show uvio at work

CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR  ?= $(PREFIX)/share/man
VERSION := $(shell sed -n 's/^#define UVIO_VERSION "\(.*\)"/\1/p' include/uvio/version.h)
SOMAJOR := 0

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ifeq ($(SANITIZE),1)
BUILD   ?= build/san
SANFLAGS := $(SAN_FLAGS)
else
BUILD   ?= build
SANFLAGS :=
# Link-time optimisation lets the PMDs inline the ring's hot verbs across
# the lib/vring boundary, which keeps that boundary a real interface
# without costing the data path a call per descriptor. Fat objects keep
# libuvio.a usable by a linker that does no LTO. LTO= turns it off.
LTO     ?= -flto=auto -ffat-lto-objects
endif
# check-unit and check-san build both trees: BUILD=DIR puts the plain one
# in DIR and the sanitized one in DIR/san, as the defaults build and build/san.
PLAIN_BUILD := $(if $(filter 1,$(SANITIZE)),$(patsubst %/san,%,$(BUILD)),$(BUILD))
SAN_BUILD   := $(PLAIN_BUILD)/san

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) $(LTO) -Iinclude -Ilib -fPIC -fvisibility=hidden -MMD -MP
LDLIBS   := -lnuma -lpthread
LINK     := $(CC) $(CFLAGS) $(SANFLAGS) $(LTO)

LIB_SRCS := $(sort $(wildcard lib/*/*.c) $(wildcard pmd/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)

# Programs: one folder each; every .c in it is linked into one binary, with
# apps/common (the option and number parsers every tool shares).
APPS      := $(filter-out common,$(sort $(notdir $(patsubst %/,%,$(dir $(wildcard apps/*/*.c))))))
APP_COMMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard apps/common/*.c))
APP_BINS  := $(APPS:%=$(BUILD)/%)
# Test support shared by unit tests, fuzzers and benchmarks (the device model).
MODEL_SRCS := $(wildcard tests/model/*.c)
MODEL_OBJS := $(MODEL_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

# A fresh machine has no libnuma headers: say how to get them before the
# compiler says numa.h is missing (make demo and make check install them).
ifeq ($(wildcard /usr/include/numa.h),)
ifeq ($(filter demo check deps-check clean uninstall,$(MAKECMDGOALS)),)
$(warning numa.h is missing: run 'tools/install-deps build' as root (or apt-get install libnuma-dev); 'make demo' and 'make check' install what they need)
endif
endif

# FORCE is the first rule in the file: without this, a bare `make` made it.
.DEFAULT_GOAL := all
FORCE:
.PHONY: all lib apps man uninstall FORCE tests benches check check-unit check-vm check-host check-san check-fuzz install demo clean deps-check

all: lib apps benches

lib: $(BUILD)/libuvio.a $(BUILD)/libuvio.so $(BUILD)/uvio.pc
apps: $(APP_BINS)
tests: $(UNIT_BINS)
benches: $(BENCH_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libuvio.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The objects are built -fvisibility=hidden, and the public headers push
# default visibility around their declarations (a version script alone cannot
# export a hidden symbol); lib/uvio.map lists the ABI and versions it.
$(BUILD)/libuvio.so: $(LIB_OBJS) lib/uvio.map
	$(LINK) -shared -Wl,--version-script=lib/uvio.map -Wl,-soname,libuvio.so.$(SOMAJOR) -o $@ $(LIB_OBJS) $(LDLIBS)

# The .pc names the install paths, so it is rebuilt whenever they change:
# the stamp's content is the paths, rewritten only when they differ.
PC_VARS := $(PREFIX)|$(LIBDIR)|$(INCLUDEDIR)|$(VERSION)
$(BUILD)/pc-vars: FORCE
	@mkdir -p $(dir $@)
	@[ "$$(cat $@ 2>/dev/null)" = '$(PC_VARS)' ] || echo '$(PC_VARS)' > $@

$(BUILD)/uvio.pc: $(BUILD)/pc-vars
	printf 'prefix=%s\nlibdir=%s\nincludedir=%s\n\nName: uvio\nDescription: userspace poll-mode virtio drivers\nVersion: %s\nLibs: -L$${libdir} -luvio\nLibs.private: -lnuma -lpthread\nCflags: -I$${includedir}\n' \
		'$(PREFIX)' '$(LIBDIR)' '$(INCLUDEDIR)' '$(VERSION)' > $@

define APP_RULE
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard apps/$(1)/*.c)) $(APP_COMMON_OBJS) $(BUILD)/libuvio.a
	$$(LINK) -o $$@ $$(filter %.o,$$^) $(BUILD)/libuvio.a $$(LDLIBS) -lm
endef
$(foreach a,$(APPS),$(eval $(call APP_RULE,$(a))))

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(MODEL_OBJS) $(APP_COMMON_OBJS) $(BUILD)/libuvio.a
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $< $(MODEL_OBJS) $(APP_COMMON_OBJS) $(BUILD)/libuvio.a $(LDLIBS) -lcmocka -lm

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(MODEL_OBJS) $(BUILD)/libuvio.a
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $< $(MODEL_OBJS) $(BUILD)/libuvio.a $(LDLIBS) -lm

# Unit tests twice: under ASan+UBSan, then the plain build under valgrind
# (any error or definite leak fails). --fair-sched: valgrind runs one thread
# at a time, and its default lock lets a spinning thread starve the one it
# waits for; test_park took 400-500 s instead of 4 and hit the timeout in CI.
# Every check target first installs (as root, on Debian) the packages it needs;
# silent when nothing is missing. tools/install-deps --list check names them.
deps-check:
	@tools/install-deps check
	@tools/fetch-fio-src

check-unit: deps-check
	$(MAKE) SANITIZE=1 BUILD=$(SAN_BUILD) tests
	tests/unit/run $(SAN_BUILD)/tests/unit
	$(MAKE) SANITIZE= BUILD=$(PLAIN_BUILD) tests
	UNIT_WRAP="valgrind -q --fair-sched=yes --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
		tests/unit/run $(PLAIN_BUILD)/tests/unit

# Every tests/vm/run* suite (PCI, blk, net), each booting its own guests.
check-vm: deps-check all
	@rc=0; for t in tests/vm/run tests/vm/run-*; do [ -x $$t ] || continue; \
		echo "=== $$t"; $$t || rc=1; done; exit $$rc

# Every tests/host/run* suite: bad input, vhost-user against real backends.
check-host: deps-check all
	@rc=0; for t in tests/host/run tests/host/run-*; do [ -x $$t ] || continue; \
		echo "=== $$t"; $$t || rc=1; done; exit $$rc

# uvio as a user gets it: make install into a temporary prefix, the examples
# (C and C++) built from it by pkg-config alone and run against real back-ends,
# exported symbols = declared functions, --version and man pages, uninstall.
.PHONY: check-install
check-install: all
	BUILD=$(BUILD) tests/install/run

# Each fuzz target for FUZZ_SECONDS (60 in check), from the committed seeds.
check-fuzz: deps-check
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

# The integration suites again, over the ASan+UBSan build: every host suite,
# and the VM suites in one scenario each (SAN_VM=all: every scenario). In
# the host suites a sanitizer report anywhere, even from a process whose
# exit status no test looks at, fails the run.
SAN_VM ?= quick
SAN_LOGS := $(SAN_BUILD)/logs
check-san: deps-check
	$(MAKE) SANITIZE=1 BUILD=$(SAN_BUILD) all
	@rm -rf $(SAN_LOGS); mkdir -p $(SAN_LOGS); rc=0; \
	for t in tests/host/run tests/host/run-*; do [ -x $$t ] || continue; \
		echo "=== $$t (ASan+UBSan)"; \
		BUILD=$(SAN_BUILD) HOST_CFLAGS="$(SAN_FLAGS)" \
		ASAN_OPTIONS=log_path=$(abspath $(SAN_LOGS))/asan \
		UBSAN_OPTIONS=log_path=$(abspath $(SAN_LOGS))/ubsan:print_stacktrace=1 \
		$$t || rc=1; done; \
	if ls $(SAN_LOGS)/* >/dev/null 2>&1; then rc=1; \
		echo "sanitizer reports:"; head -40 $(SAN_LOGS)/*; fi; \
	for t in "tests/vm/run-blk vtd" "tests/vm/run-net vfio_type1" tests/vm/run-unplug \
		"tests/vm/run-ringreset split"; do \
		[ "$(SAN_VM)" = all ] && t=$${t%% *}; \
		echo "=== $$t (ASan+UBSan)"; UVIO_BUILD=$(abspath $(SAN_BUILD)) $$t || rc=1; done; \
	exit $$rc

# The packages come first, in the recipe, so that nothing is compiled before
# its headers are there; -k (as .ci/run passes) reaches the sub-make.
check:
	@tools/install-deps check
	@tools/fetch-fio-src
	$(MAKE) check-unit check-vm check-host check-install check-san check-fuzz

bench-vring: benches
	$(BUILD)/bench/vring_bench

demo:
	@tools/install-deps demo
	$(MAKE) all
	tests/vm/demo

# Tools installed, and the one line help2man puts under NAME in each page.
TOOLS := blkbench blkcheck pktfwd uvio-devbind uvio-vmtest
DESC_blkbench    := block benchmark and verifier over the uvio virtio-blk driver
DESC_blkcheck    := check on the host what blkbench wrote into a disk image
DESC_pktfwd      := packet forwarder and generator over the uvio virtio-net driver
DESC_uvio-devbind := bind virtio PCI devices to vfio-pci or uio and reserve hugepages
DESC_uvio-vmtest := exercise one virtio device through uvio as the demo does
MAN_PAGES := $(TOOLS:%=$(BUILD)/man/%.1)

man: $(MAN_PAGES)
$(BUILD)/man/%.1: $(BUILD)/%
	@mkdir -p $(dir $@)
	@command -v help2man >/dev/null || { echo "man: help2man is missing: apt-get install help2man (or tools/install-deps build)" >&2; exit 1; }
	help2man --no-info --no-discard-stderr -n '$(DESC_$*)' -o $@ $(abspath $<)

install: lib apps man
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/uvio $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(BUILD)/libuvio.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libuvio.so $(DESTDIR)$(LIBDIR)/libuvio.so.$(VERSION)
	ln -sf libuvio.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libuvio.so.$(SOMAJOR)
	ln -sf libuvio.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libuvio.so
	install -m 644 include/uvio/*.h $(DESTDIR)$(INCLUDEDIR)/uvio/
	install -m 644 $(BUILD)/uvio.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 755 $(TOOLS:%=$(BUILD)/%) $(DESTDIR)$(BINDIR)/
	install -m 644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libuvio.a $(DESTDIR)$(LIBDIR)/libuvio.so \
		$(DESTDIR)$(LIBDIR)/libuvio.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libuvio.so.$(VERSION) \
		$(DESTDIR)$(LIBDIR)/pkgconfig/uvio.pc \
		$(TOOLS:%=$(DESTDIR)$(BINDIR)/%) $(TOOLS:%=$(DESTDIR)$(MANDIR)/man1/%.1)
	rm -rf $(DESTDIR)$(INCLUDEDIR)/uvio

clean:
	rm -rf build

include tests/fuzz/Makefile.fuzz
include fio/Makefile.fio

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
