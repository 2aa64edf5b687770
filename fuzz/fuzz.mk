# libFuzzer targets, built with clang whatever CC is, outside the unit-test
# tree. Each run starts from a working copy of the seed corpus kept under
# build/fuzz/, so that what one run finds seeds the next; the seeds in
# fuzz/corpus/ are never written to. Crashes go to build/fuzz/<target>-crash-*.
#
#   make fuzz-http                    build, then fuzz for FUZZ_SECONDS (20)
#   make fuzz-http FUZZ_SECONDS=180
#   build/fuzz/http_fuzz build/fuzz/http-crash-...   replay one input

FUZZ_B        := $(B)/fuzz
FUZZ_CC       := clang
FUZZ_SECONDS  ?= 20
FUZZ_CPPFLAGS := -D_GNU_SOURCE -Isrc
FUZZ_CFLAGS   := -std=gnu11 $(WARN) -O1 -g -fno-omit-frame-pointer \
                 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_ENV      := UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

$(FUZZ_B)/http_fuzz: fuzz/http_fuzz.c src/api/http.c src/api/http.h src/common/util.h fuzz/fuzz.mk
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ fuzz/http_fuzz.c src/api/http.c

.PHONY: fuzz-http
fuzz-http: $(FUZZ_B)/http_fuzz
	@mkdir -p $(FUZZ_B)/corpus-http
	@cp fuzz/corpus/http/* $(FUZZ_B)/corpus-http/
	$(Q)$(FUZZ_ENV) $(FUZZ_B)/http_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_B)/http- $(FUZZ_B)/corpus-http
