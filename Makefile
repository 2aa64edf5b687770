# ember — one non-recursive Makefile. Fragments under tests/ and scripts/ are
# included, never invoked recursively.
#
#   make            build/ember
#   make test       unit tests (ASan+UBSan), integration tests (pytest)
#   make demo       install what is missing, build, boot a microVM on this terminal
#   make testguest  build/testguest.elf, build/testguest.bzImage
#   make guest-linux  build/linux/vmlinux and build/linux/rootfs.ext4 (cached)
#   make bench      benchmarks; see docs/performance.md

B        := build
# `make V=1` shows whole command lines.
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)
PYTHON   := /usr/bin/python3
VERSION  := $(shell cat VERSION)

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla -Wpointer-arith -Wundef -Wcast-align \
            -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -DEMBER_VERSION='"$(VERSION)"' -Isrc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -fno-strict-aliasing -fstack-protector-strong \
            -D_FORTIFY_SOURCE=2 -MMD -MP
LDLIBS   := -ljansson -luring -lpthread

# Every ember source, by module. The unit-test build links the same objects
# (minus main.c) with sanitizers into its own tree.
SRC_COMMON  := $(wildcard src/common/*.c)
SRC_ARCH    := $(wildcard src/arch/x86_64/*.c)
SRC_KVM     := $(wildcard src/kvm/*.c)
SRC_MEM     := $(wildcard src/mem/*.c)
SRC_BUS     := $(wildcard src/bus/*.c)
SRC_LOADER  := $(wildcard src/loader/*.c)
SRC_DEV     := $(wildcard src/devices/*.c) $(wildcard src/devices/legacy/*.c) \
               $(wildcard src/devices/virtio/*.c)
SRC_VMM     := $(wildcard src/vmm/*.c)
SRC_API     := $(wildcard src/api/*.c)
SRC_LIB     := $(SRC_COMMON) $(SRC_ARCH) $(SRC_KVM) $(SRC_MEM) $(SRC_BUS) \
               $(SRC_LOADER) $(SRC_DEV) $(SRC_VMM) $(SRC_API)
SRC_MAIN    := src/main.c

OBJ_LIB  := $(SRC_LIB:%.c=$(B)/obj/%.o)
OBJ_MAIN := $(SRC_MAIN:%.c=$(B)/obj/%.o)

.PHONY: all
all: $(B)/ember

$(B)/ember: $(OBJ_LIB) $(OBJ_MAIN)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/%.o: %.c Makefile VERSION
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

-include $(OBJ_LIB:.o=.d) $(OBJ_MAIN:.o=.d)

include tests/unit/unit.mk
include tests/guest/guest.mk
include scripts/guest-linux.mk
include tests/integration/integration.mk
include bench/bench.mk
include fuzz/fuzz.mk

# ---------------------------------------------------------------- set-up
DEPS_STAMP := $(B)/.deps-ok
$(DEPS_STAMP): scripts/install-deps
	@scripts/install-deps
	@mkdir -p $(B) && touch $@

.PHONY: deps
deps: $(DEPS_STAMP)

# ---------------------------------------------------------------- test
.PHONY: test check
test: $(DEPS_STAMP)
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory all testguest guest-linux
	$(MAKE) --no-print-directory integration
check: test

# ---------------------------------------------------------------- demo
.PHONY: demo
demo: $(DEPS_STAMP)
	$(MAKE) --no-print-directory all testguest
	@scripts/demo

.PHONY: clean
clean:
	rm -rf $(B)/obj $(B)/unit $(B)/ember $(B)/testguest* $(B)/guest
