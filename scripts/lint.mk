# make lint: formatting (clang-format), static analysis (cppcheck) and gcc's
# -fanalyzer, all clean. .ci/run runs it.
LINT_FORMAT_FILES := $(shell find src tools -name '*.[ch]' 2>/dev/null)
LINT_ANALYZE_SRC  := $(filter-out src/compat/%,$(SRC_LIB) $(SRC_MAIN)) $(wildcard src/jailer/*.c)
LINT_B            := $(B)/lint

.PHONY: lint lint-format lint-cppcheck lint-analyzer
lint: lint-format lint-cppcheck lint-analyzer

lint-format:
	@echo "  LINT    clang-format"
	$(Q)clang-format --dry-run --Werror $(LINT_FORMAT_FILES)

lint-cppcheck: $(SRC_GEN)
	@echo "  LINT    cppcheck"
	$(Q)cppcheck --quiet --enable=warning,performance,portability --inline-suppr \
		--error-exitcode=1 -D__x86_64__ -D_GNU_SOURCE -DEMBER_VERSION='"lint"' \
		-Isrc --std=c11 src tools

# One stamp per source: only changed files are analysed again.
LINT_STAMPS := $(LINT_ANALYZE_SRC:%.c=$(LINT_B)/%.ok)
lint-analyzer: $(LINT_STAMPS)

$(LINT_B)/%.ok: %.c Makefile
	@mkdir -p $(dir $@)
	@echo "  ANALYZE $<"
	$(Q)gcc -fanalyzer -Werror $(CPPFLAGS) -std=gnu11 $(WARN) -O1 -c -o /dev/null $<
	@touch $@
