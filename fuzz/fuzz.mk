# libFuzzer targets, built with clang whatever CC is, outside the unit-test
# tree: the project sources they need are compiled with coverage and the
# sanitizers into build/fuzz/obj/ and archived into build/fuzz/libember.a.
# Each run starts from a working copy of the seed corpus kept under
# build/fuzz/, so that what one run finds seeds the next; the seeds in
# fuzz/corpus/ are never written to. Crashes go to build/fuzz/<target>-crash-*.
# See fuzz/README.md.
#
#   make fuzz                         build every target into build/fuzz/
#   make fuzz-blk                     build, then fuzz for FUZZ_SECONDS (60)
#   make fuzz-blk FUZZ_SECONDS=600
#   make fuzz-smoke                   every target FUZZ_SMOKE_SECONDS (5) + fuzz/regressions/
#   build/fuzz/blk_fuzz build/fuzz/blk-crash-...   replay one input

FUZZ_B        := $(B)/fuzz
FUZZ_CC       := clang
FUZZ_SECONDS  ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_EXTRA_CFLAGS ?=
FUZZ_CPPFLAGS := -D_GNU_SOURCE -DEMBER_VERSION='"$(VERSION)"' -Isrc -Ifuzz
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   := -std=gnu11 $(WARN) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) \
                 $(FUZZ_EXTRA_CFLAGS)
FUZZ_LDLIBS   := -ljansson -luring -lpthread
FUZZ_ENV      := UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
                 ASAN_OPTIONS=detect_leaks=1

# Every target but http: fuzz/<name>_fuzz.c -> build/fuzz/<name>_fuzz.
FUZZ_LIB_TARGETS := api_json config virtqueue blk net mmio uart i8042 loader cmdline
FUZZ_TARGETS     := http $(FUZZ_LIB_TARGETS)
FUZZ_BINS        := $(FUZZ_TARGETS:%=$(FUZZ_B)/%_fuzz)

# The project sources the targets exercise (not SRC_LIB: nothing that needs
# KVM, seccomp or the static build's compatibility code).
FUZZ_SRC := src/common/log.c src/common/util.c src/mem/guest_mem.c src/bus/bus.c \
            src/loader/kernel.c src/loader/elf.c src/loader/bzimage.c src/loader/cmdline.c \
            src/devices/rate_limiter.c src/devices/legacy/serial.c \
            src/devices/legacy/i8042.c src/devices/virtio/queue.c src/devices/virtio/mmio.c \
            src/devices/virtio/block.c src/devices/virtio/net.c src/devices/virtio/tap.c \
            src/vmm/config.c src/vmm/config_json.c src/vmm/event_loop.c src/api/routes.c \
            src/api/http.c
FUZZ_OBJ := $(FUZZ_SRC:%.c=$(FUZZ_B)/obj/%.o)
FUZZ_LIB := $(FUZZ_B)/libember.a

# Maximum input length per target (libFuzzer's -max_len).
FUZZ_MAXLEN_http      := 4096
FUZZ_MAXLEN_api_json  := 8192
FUZZ_MAXLEN_config    := 16384
FUZZ_MAXLEN_virtqueue := 8192
FUZZ_MAXLEN_blk       := 8192
FUZZ_MAXLEN_net       := 16384
FUZZ_MAXLEN_mmio      := 4096
FUZZ_MAXLEN_uart      := 4096
FUZZ_MAXLEN_i8042     := 2048
FUZZ_MAXLEN_loader    := 262144
FUZZ_MAXLEN_cmdline   := 8192

.PHONY: fuzz fuzz-smoke $(FUZZ_TARGETS:%=fuzz-%)
fuzz: $(FUZZ_BINS)

# Rebuild everything when the compiler or the flags change.
FUZZ_STAMP := $(FUZZ_B)/flags
$(FUZZ_STAMP): fuzz-force
	@mkdir -p $(@D)
	@echo '$(subst ','\'',$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS))' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
fuzz-force:

# Project objects: coverage for the fuzzer, no libFuzzer main.
$(FUZZ_B)/obj/%.o: %.c $(FUZZ_STAMP)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
		-c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_B)/http_fuzz: fuzz/http_fuzz.c src/api/http.c src/api/http.h src/common/util.h fuzz/fuzz.mk
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ fuzz/http_fuzz.c \
		src/api/http.c

# A target's own definitions win over the archive's (net_fuzz supplies
# tap_open and tap_set_offload, so tap.o is never pulled in there).
$(FUZZ_LIB_TARGETS:%=$(FUZZ_B)/%_fuzz): $(FUZZ_B)/%_fuzz: fuzz/%_fuzz.c $(FUZZ_LIB) $(FUZZ_STAMP)
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP \
		-MF $(FUZZ_B)/$*_fuzz.d -o $@ $< $(FUZZ_LIB) $(FUZZ_LDLIBS)

-include $(FUZZ_OBJ:.o=.d) $(FUZZ_LIB_TARGETS:%=$(FUZZ_B)/%_fuzz.d)

$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_B)/%_fuzz
	@mkdir -p $(FUZZ_B)/corpus-$*
	@cp fuzz/corpus/$*/* $(FUZZ_B)/corpus-$*/
	$(Q)$(FUZZ_ENV) $(FUZZ_B)/$*_fuzz -max_total_time=$(FUZZ_SECONDS) \
		-max_len=$(FUZZ_MAXLEN_$*) -print_final_stats=1 -artifact_prefix=$(FUZZ_B)/$*- \
		$(FUZZ_B)/corpus-$*

# A few seconds of every target from its seeds, then every saved
# regression input once; fails on any crash, leak or failed check.
fuzz-smoke: $(FUZZ_BINS)
	$(Q)$(FUZZ_ENV) fuzz/smoke.sh $(FUZZ_B) $(FUZZ_SMOKE_SECONDS) \
		$(foreach t,$(FUZZ_TARGETS),$(t):$(FUZZ_MAXLEN_$(t)))
