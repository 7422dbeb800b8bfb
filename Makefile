# Stratus: one GNU Makefile for every program, library and test.
#
#   make                 build every program into build/bin
#   make check           install missing Debian packages, build, run every test
#   make demo            install, build and run the seed's cluster end to end
#   make SANITIZE=address,undefined check    the same with sanitizers
#   make install PREFIX=/usr/local DESTDIR=  install programs, templates, docs
#
# Each folder under src/ describes itself in a module.mk fragment that adds to
# LIBS (static libraries) and PROGRAMS; the rules below are generic, so a new
# program never needs an edit here.  See docs/architecture.md.

PREFIX     ?= /usr/local
DESTDIR    ?=
# Nodes get a private /tmp, so the programs they run (agent, file-system
# daemons, benchmarks) must not live under /tmp: a tree checked out there
# builds into /var/tmp instead.
ifeq ($(filter /tmp/%,$(CURDIR)),)
BUILD      ?= build
else
BUILD      ?= /var/tmp/stratus-build$(subst /,-,$(CURDIR))
endif
CC         ?= gcc
PKG_CONFIG ?= pkg-config

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wformat=2 -Wvla -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(CI),true)
WARN += -Werror
endif
ifneq ($(WERROR),)
WARN += -Werror
endif

OPT      ?= -O2 -g
CFLAGS   ?= $(OPT)
CPPFLAGS += -D_GNU_SOURCE -Isrc -include src/common/banned.h
ALL_CFLAGS = -std=gnu11 -pthread -fno-strict-aliasing $(WARN) $(CFLAGS) -MMD -MP
LDFLAGS  += -pthread -Wl,--as-needed

ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

.DEFAULT_GOAL := all

LIBS     :=
PROGRAMS :=
SCRIPTS  :=
include $(sort $(wildcard src/*/module.mk))

pkg_cflags = $(if $(1),$(shell $(PKG_CONFIG) --cflags $(1)))
pkg_libs   = $(if $(1),$(shell $(PKG_CONFIG) --libs $(1)))

# ---- static libraries: $(BUILD)/lib/<name>.a from <name>_SRCS ----
define lib_rules
$(1)_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$($(1)_SRCS))
$(BUILD)/lib/$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	$$(AR) rcs $$@ $$^
$$($(1)_OBJS): EXTRA_CFLAGS := $$(call pkg_cflags,$$($(1)_PKGS))
endef
$(foreach l,$(LIBS),$(eval $(call lib_rules,$(l))))

# ---- programs: $(BUILD)/bin/<name> from <name>_SRCS, <name>_LIBS, <name>_PKGS ----
# Libraries named in <name>_LIBS bring their own <lib>_PKGS and <lib>_LDLIBS.
define prog_rules
$(1)_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$($(1)_SRCS))
$(1)_ALLPKGS := $$(sort $$($(1)_PKGS) $$(foreach l,$$($(1)_LIBS),$$($$(l)_PKGS)))
$(BUILD)/bin/$(1): $$($(1)_OBJS) $$(foreach l,$$($(1)_LIBS),$(BUILD)/lib/$$(l).a)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(call pkg_libs,$$($(1)_ALLPKGS)) $$($(1)_LDLIBS) $$(foreach l,$$($(1)_LIBS),$$($$(l)_LDLIBS))
$$($(1)_OBJS): EXTRA_CFLAGS := $$(call pkg_cflags,$$($(1)_ALLPKGS))
endef
$(foreach p,$(PROGRAMS),$(eval $(call prog_rules,$(p))))

# ---- unit tests: tests/unit/test_<x>.c, linked with every library ----
# Static libraries only pull in what a test uses, and --as-needed drops the
# shared libraries it does not.
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
ALL_PKGS   := $(sort cmocka $(foreach l,$(LIBS),$($(l)_PKGS)))
ALL_LDLIBS := $(sort $(foreach l,$(LIBS),$($(l)_LDLIBS)))
# Libraries are listed twice so that their order never matters to the linker.
ALL_LIBA   := $(foreach l,$(LIBS),$(BUILD)/lib/$(l).a)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(ALL_LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(ALL_LIBA) -Wl,--end-group $(call pkg_libs,$(ALL_PKGS)) $(ALL_LDLIBS)
$(patsubst %,$(BUILD)/obj/%.o,$(basename $(UNIT_SRCS))): EXTRA_CFLAGS := $(call pkg_cflags,$(ALL_PKGS))

# ---- test tools: tests/tools/<x>.c, small programs the e2e tests drive ----
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRCS))
$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/tools/%.o $(ALL_LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(ALL_LIBA) -Wl,--end-group $(call pkg_libs,$(ALL_PKGS)) $(ALL_LDLIBS)
$(patsubst %,$(BUILD)/obj/%.o,$(basename $(TOOL_SRCS))): EXTRA_CFLAGS := $(call pkg_cflags,$(ALL_PKGS))

# ---- objects ----
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(EXTRA_CFLAGS) $(ALL_CFLAGS) -c -o $@ $<

PROGRAM_BINS := $(patsubst %,$(BUILD)/bin/%,$(PROGRAMS))

.PHONY: all programs tests deps check check-unit check-e2e demo demo-down install clean fuzz
all: programs
programs: $(ALL_LIBA) $(PROGRAM_BINS)
tests: $(UNIT_BINS) $(TOOL_BINS)

deps:
	@scripts/install-deps

# `make check` is what a new user and CI run: set-up, build, every test.
# TESTS= narrows it to some files (unit binary names or e2e scripts).
check: deps
	@$(MAKE) --no-print-directory programs tests
	@BUILD=$(BUILD) tests/run $(TESTS)

demo: deps
	@$(MAKE) --no-print-directory programs
	@BUILD=$(BUILD) scripts/demo

demo-down:
	@BUILD=$(BUILD) scripts/demo-down

install: programs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/stratus
	$(if $(PROGRAM_BINS),install -m 0755 $(PROGRAM_BINS) $(DESTDIR)$(PREFIX)/bin/)
	$(if $(SCRIPTS),install -m 0755 $(SCRIPTS) $(DESTDIR)$(PREFIX)/bin/)
	cp -R templates projects docs web $(DESTDIR)$(PREFIX)/share/stratus/
	@# mount(8) looks for /sbin/mount.<type>: `mount -t sfs` and /etc/fstab need it there.
	$(if $(filter mount.sfs,$(PROGRAMS)),install -d $(DESTDIR)/sbin && ln -sf $(PREFIX)/bin/mount.sfs $(DESTDIR)/sbin/mount.sfs)

# Fuzz targets (tests/fuzz/fuzz_<x>.c) need clang's libFuzzer.
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
fuzz:
	@$(MAKE) --no-print-directory CC=clang BUILD=$(BUILD)/fuzz \
		SANITIZE=fuzzer-no-link,address,undefined $(foreach l,$(LIBS),$(BUILD)/fuzz/lib/$(l).a)
	@mkdir -p $(BUILD)/fuzz/bin
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
		echo "clang $$n"; \
		clang $(CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
		  $(call pkg_cflags,$(ALL_PKGS)) -o $(BUILD)/fuzz/bin/$$n $$f \
		  -Wl,--start-group $(foreach l,$(LIBS),$(BUILD)/fuzz/lib/$(l).a) -Wl,--end-group \
		  $(call pkg_libs,$(ALL_PKGS)) $(ALL_LDLIBS) -pthread || exit 1; done

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
