# ember — one non-recursive Makefile. Fragments under tests/ and scripts/ are
# included, never invoked recursively.
#
#   make            build/ember
#   make test       unit tests (ASan+UBSan), fuzz smoke, integration tests (pytest),
#                   the integration tests again against ember built with ASan+UBSan
#   make integration-asan  only the last (tests/integration/integration.mk)
#   make asan       build/ember-asan, build/ember-testhooks-asan: ASan+UBSan, for tests
#   make fuzz       libFuzzer targets; make fuzz-<name>, make fuzz-smoke (fuzz/README.md)
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
# The unit tests and the fuzzers link the libraries dynamically (sanitizers).
LDLIBS   := -ljansson -luring -lseccomp -lpthread

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
SRC_SECCOMP := $(wildcard src/seccomp/*.c)
# ember's seccomp filters, compiled to BPF at build time (tools/seccomp-gen.c).
SRC_GEN     := $(B)/gen/seccomp_bpf.c
SRC_LIB     := $(SRC_COMMON) $(SRC_ARCH) $(SRC_KVM) $(SRC_MEM) $(SRC_BUS) \
               $(SRC_LOADER) $(SRC_DEV) $(SRC_VMM) $(SRC_API) $(SRC_SECCOMP) $(SRC_GEN)
SRC_MAIN    := src/main.c

# ---------------------------------------------------------------- build/ember
# A static PIE, full RELRO, stripped (symbols in build/ember.debug).
# LIBC=musl (the default with gcc): Debian's musl through
# scripts/musl-static-pie.specs, with Debian's static libjansson, liburing
# and libseccomp (glibc-built: src/compat/glibc_chk.c supplies the few
# glibc-only symbols they call). LIBC=glibc (the default with clang): glibc
# static PIE, larger, with _FORTIFY_SOURCE in effect.
LIBC     ?= $(if $(findstring clang,$(CC)),glibc,musl)
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR   := /usr/lib/$(MULTIARCH)
OBJDIR   := $(B)/obj-$(LIBC)
EMBER_LDFLAGS := -Wl,-z,relro,-z,now -Wl,--gc-sections
ifeq ($(LIBC),musl)
EMBER_CC       := gcc -specs scripts/musl-static-pie.specs
EMBER_CPPFLAGS := $(CPPFLAGS) -I$(B)/musl-include
EMBER_LIBS     := $(LIBDIR)/libjansson.a $(LIBDIR)/liburing.a $(LIBDIR)/libseccomp.a
EMBER_SRC      := $(SRC_LIB) $(SRC_MAIN) src/compat/glibc_chk.c
MUSL_INC       := $(B)/musl-include/.ok
else
EMBER_CC       := $(CC)
EMBER_CPPFLAGS := $(CPPFLAGS)
EMBER_LDFLAGS  += -static-pie
EMBER_LIBS     := -ljansson -luring -lseccomp -lpthread
EMBER_SRC      := $(SRC_LIB) $(SRC_MAIN)
MUSL_INC       :=
endif
EMBER_CFLAGS := $(CFLAGS) -fPIE -ffunction-sections -fdata-sections
OBJ_EMBER    := $(EMBER_SRC:%.c=$(OBJDIR)/%.o)

.PHONY: all
all: $(B)/ember

$(B)/ember: $(B)/ember.debug
	@echo "  STRIP   $@"
	$(Q)strip -o $@ $<

# Relink when LIBC changes: this file names the C library of the last link.
LIBC_STAMP := $(B)/.libc
$(shell mkdir -p $(B); [ "$$(cat $(LIBC_STAMP) 2>/dev/null)" = "$(LIBC)" ] || \
	echo "$(LIBC)" > $(LIBC_STAMP))

$(B)/ember.debug: $(OBJ_EMBER) $(LIBC_STAMP)
	@echo "  LD      $@ ($(LIBC))"
	$(Q)$(EMBER_CC) -fPIE $(EMBER_LDFLAGS) -o $@ $(OBJ_EMBER) $(EMBER_LIBS)

$(OBJDIR)/%.o: %.c Makefile VERSION $(MUSL_INC)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(EMBER_CC) $(EMBER_CPPFLAGS) $(EMBER_CFLAGS) -c -o $@ $<

# The seccomp filters: a host tool compiles src/seccomp/rules.c with
# libseccomp and writes the BPF programs as C arrays.
SECCOMP_GEN_SRC := tools/seccomp-gen.c src/seccomp/rules.c src/seccomp/compile.c \
                   src/common/util.c
$(B)/tools/seccomp-gen: $(SECCOMP_GEN_SRC) src/seccomp/rules.h src/seccomp/compile.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	$(Q)gcc $(CPPFLAGS) -std=gnu11 $(WARN) -O1 -o $@ $(SECCOMP_GEN_SRC) -lseccomp

$(SRC_GEN): $(B)/tools/seccomp-gen
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$< $@ > $(B)/gen/seccomp-summary.txt
	$(Q)$< --json $(B)/gen/seccomp.json

# build/ember-testhooks: ember with test-only hooks (EMBER_SECCOMP_SELFTEST
# makes a thread break its filter on purpose), for the seccomp tests.
$(B)/ember-testhooks: $(filter-out $(OBJDIR)/src/seccomp/seccomp.o,$(OBJ_EMBER)) \
		$(OBJDIR)/testhooks/seccomp.o $(LIBC_STAMP)
	@echo "  LD      $@ ($(LIBC), test hooks)"
	$(Q)$(EMBER_CC) -fPIE $(EMBER_LDFLAGS) -o $@ $(filter %.o,$^) $(EMBER_LIBS)

$(OBJDIR)/testhooks/seccomp.o: src/seccomp/seccomp.c Makefile $(MUSL_INC)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (test hooks)"
	$(Q)$(EMBER_CC) $(EMBER_CPPFLAGS) $(EMBER_CFLAGS) -DEMBER_TEST_HOOKS -c -o $@ $<

# ---------------------------------------------------------------- build/ember-asan
# build/ember-asan and build/ember-testhooks-asan: the same sources built
# with ASan+UBSan for `make integration-asan`. glibc, a dynamic PIE (the
# sanitizer runtimes do not support static linking), debug info, not
# stripped, objects in build/obj-asan. EMBER_SANITIZE adds to the seccomp
# lists the few syscalls the sanitizer runtimes make (src/seccomp/rules.c
# says which and why), compiled into build/gen-asan/; the production lists
# and build/gen/ are unchanged. _FORTIFY_SOURCE is off: its checked string
# functions hide accesses from ASan.
# clang, not gcc: clang's ASan runtime carries UBSan inside it, set up when
# the process starts, with one report file and one module list that
# seccomp_prepare_sanitizers() readies before the filters go on. gcc links
# a separate libubsan that sets itself up at its first report, reading
# /proc/self/exe, cmdline and environ under whatever filter is on.
ASAN_CC       := clang
ASAN_OBJDIR   := $(B)/obj-asan
ASAN_GEN      := $(B)/gen-asan
ASAN_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                 -fno-omit-frame-pointer
ASAN_CPPFLAGS := $(CPPFLAGS) -DEMBER_SANITIZE
ASAN_CFLAGS   := $(filter-out -D_FORTIFY_SOURCE=%,$(CFLAGS)) -O1 -g -fPIE $(ASAN_SAN)
ASAN_LDFLAGS  := $(ASAN_SAN) -pie -Wl,-z,relro,-z,now
ASAN_SRC      := $(filter-out $(SRC_GEN),$(SRC_LIB)) $(ASAN_GEN)/seccomp_bpf.c $(SRC_MAIN)
OBJ_ASAN      := $(ASAN_SRC:%.c=$(ASAN_OBJDIR)/%.o)
# The compiler and flags in one file, rewritten only when they change.
ASAN_STAMP    := $(ASAN_OBJDIR)/flags
ASAN_FLAGS    := $(ASAN_CC) $(ASAN_CPPFLAGS) $(ASAN_CFLAGS) $(ASAN_LDFLAGS)

.PHONY: asan
asan: $(B)/ember-asan $(B)/ember-testhooks-asan

$(B)/ember-asan: $(OBJ_ASAN)
	@echo "  LD      $@ (ASan+UBSan)"
	$(Q)$(ASAN_CC) $(ASAN_LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/ember-testhooks-asan: $(filter-out $(ASAN_OBJDIR)/src/seccomp/seccomp.o,$(OBJ_ASAN)) \
		$(ASAN_OBJDIR)/testhooks/seccomp.o
	@echo "  LD      $@ (ASan+UBSan, test hooks)"
	$(Q)$(ASAN_CC) $(ASAN_LDFLAGS) -o $@ $^ $(LDLIBS)

$(ASAN_OBJDIR)/%.o: %.c $(ASAN_STAMP) VERSION
	@mkdir -p $(dir $@)
	@echo "  CC      $< (ASan+UBSan)"
	$(Q)$(ASAN_CC) $(ASAN_CPPFLAGS) $(ASAN_CFLAGS) -c -o $@ $<

$(ASAN_OBJDIR)/testhooks/seccomp.o: src/seccomp/seccomp.c $(ASAN_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (ASan+UBSan, test hooks)"
	$(Q)$(ASAN_CC) $(ASAN_CPPFLAGS) $(ASAN_CFLAGS) -DEMBER_TEST_HOOKS -c -o $@ $<

$(ASAN_STAMP): asan-force
	@mkdir -p $(@D)
	@echo '$(subst ','\'',$(ASAN_FLAGS))' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
.PHONY: asan-force
asan-force:

$(B)/tools/seccomp-gen-asan: $(SECCOMP_GEN_SRC) src/seccomp/rules.h src/seccomp/compile.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	$(Q)gcc $(CPPFLAGS) -DEMBER_SANITIZE -std=gnu11 $(WARN) -O1 -o $@ $(SECCOMP_GEN_SRC) \
		-lseccomp

$(ASAN_GEN)/seccomp_bpf.c: $(B)/tools/seccomp-gen-asan
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$< $@ > $(ASAN_GEN)/seccomp-summary.txt
	$(Q)$< --json $(ASAN_GEN)/seccomp.json

-include $(OBJ_ASAN:.o=.d) $(ASAN_OBJDIR)/testhooks/seccomp.d

# musl's include path with just the non-libc headers ember needs from
# Debian's tree: the libraries' and the kernel's (UAPI) headers.
$(B)/musl-include/.ok: Makefile
	@mkdir -p $(dir $@)
	$(Q)for h in jansson.h jansson_config.h liburing.h liburing seccomp.h \
		seccomp-syscalls.h linux asm-generic video; do \
		ln -sfn /usr/include/$$h $(B)/musl-include/$$h; done
	$(Q)ln -sfn /usr/include/$(MULTIARCH)/asm $(B)/musl-include/asm
	@touch $@

-include $(OBJ_EMBER:.o=.d)

include tests/unit/unit.mk
include src/jailer/jailer.mk
include tests/guest/guest.mk
include scripts/guest-linux.mk
include tests/integration/integration.mk
include bench/bench.mk
include fuzz/fuzz.mk
include scripts/lint.mk

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
	$(MAKE) --no-print-directory fuzz-smoke
	$(MAKE) --no-print-directory all testguest guest-linux
	$(MAKE) --no-print-directory integration
	$(MAKE) --no-print-directory integration-asan
check: test

# ---------------------------------------------------------------- demo
.PHONY: demo
demo: $(DEPS_STAMP)
	$(MAKE) --no-print-directory all testguest
	@scripts/demo

.PHONY: clean
clean:
	rm -rf $(B)/obj-* $(B)/musl-include $(B)/unit $(B)/fuzz $(B)/ember $(B)/ember.debug \
		$(B)/testguest* $(B)/guest $(B)/ember-asan $(B)/ember-testhooks-asan $(B)/gen-asan \
		$(B)/asan-logs
