# Unit tests: ember's library sources rebuilt with ASan+UBSan into their own
# object tree, linked into one cmocka binary per area; no KVM needed.
# See tests/unit/README.md.
#
#   make unit                  build and run every binary (gcc)
#   make unit CC=clang         the same with clang
#   make unit-build            build only
#   make unit UNIT_ONLY=test_serial   run one binary

UNIT_DIR      := tests/unit
UNIT_B        := $(B)/unit
UNIT_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all \
                 -fno-omit-frame-pointer
UNIT_CPPFLAGS := $(CPPFLAGS) -I$(UNIT_DIR)
UNIT_CFLAGS   := -std=gnu11 $(WARN) -O1 -g $(UNIT_SAN) -MMD -MP
UNIT_LDLIBS   := -lcmocka -ljansson -luring -lpthread
UNIT_ENV      := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
                 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

UNIT_LIB_OBJ  := $(SRC_LIB:%.c=$(UNIT_B)/obj/%.o)
UNIT_LIB      := $(UNIT_B)/libember.a
UNIT_SRC      := $(sort $(wildcard $(UNIT_DIR)/test_*.c))
UNIT_OBJ      := $(UNIT_SRC:%.c=$(UNIT_B)/obj/%.o)
UNIT_BINS     := $(UNIT_SRC:$(UNIT_DIR)/%.c=$(UNIT_B)/%)
UNIT_RUN      := $(if $(UNIT_ONLY),$(UNIT_ONLY:%=$(UNIT_B)/%),$(UNIT_BINS))

# The compiler and flags in one file, rewritten only when they change, so
# that `make unit CC=clang` after `make unit` rebuilds everything instead of
# mixing two sanitizer runtimes.
UNIT_FLAGS    := $(CC) $(UNIT_CPPFLAGS) $(UNIT_CFLAGS) $(UNIT_LDLIBS)
UNIT_STAMP    := $(UNIT_B)/flags

.PHONY: unit unit-build
unit: unit-build
	$(Q)$(UNIT_ENV) $(UNIT_DIR)/run.sh $(UNIT_RUN)

unit-build: $(UNIT_BINS)

$(UNIT_STAMP): unit-force
	@mkdir -p $(@D)
	@echo '$(subst ','\'',$(UNIT_FLAGS))' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
unit-force:

$(UNIT_B)/obj/%.o: %.c $(UNIT_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(UNIT_CPPFLAGS) $(UNIT_CFLAGS) -c -o $@ $<

# An archive: each binary pulls in only the objects it uses.
$(UNIT_LIB): $(UNIT_LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(UNIT_BINS): $(UNIT_B)/%: $(UNIT_B)/obj/$(UNIT_DIR)/%.o $(UNIT_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(UNIT_SAN) -o $@ $^ $(UNIT_LDLIBS)

-include $(UNIT_LIB_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
