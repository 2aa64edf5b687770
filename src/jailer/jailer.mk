# ember-jailer: Firecracker's jailer for ember (src/jailer/, docs/jailer.md).
#
#   make build/ember-jailer      (also part of `make` / `make all`)
#   make unit UNIT_ONLY=test_jailer
#
# Its own binary, never part of build/ember: ember's SRC_LIB names its module
# directories one by one and src/jailer/ is not among them. A glibc PIE with
# full RELRO: the jailer runs on the host, before the jail exists, so it
# needs no static build (getpwuid/getgrgid go through NSS).

JAILER_SRC     := $(sort $(wildcard src/jailer/*.c))
JAILER_LIB_SRC := $(filter-out src/jailer/main.c,$(JAILER_SRC))
JAILER_OBJDIR  := $(B)/obj-jailer
JAILER_OBJ     := $(JAILER_SRC:%.c=$(JAILER_OBJDIR)/%.o)
JAILER_CFLAGS  := $(CFLAGS) -fPIE
JAILER_LDFLAGS := -pie -Wl,-z,relro,-z,now

# The compiler and flags in one file, rewritten only when they change, so
# that `make CC=clang` after `make` rebuilds the jailer.
JAILER_FLAGS   := $(CC) $(CPPFLAGS) $(JAILER_CFLAGS) $(JAILER_LDFLAGS)
JAILER_STAMP   := $(JAILER_OBJDIR)/flags

all: $(B)/ember-jailer
# tests/integration/test_jailer.py runs it.
integration: $(B)/ember-jailer

$(B)/ember-jailer: $(JAILER_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(JAILER_LDFLAGS) -o $@ $^

$(JAILER_OBJDIR)/%.o: %.c $(JAILER_STAMP) VERSION
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(JAILER_CFLAGS) -c -o $@ $<

$(JAILER_STAMP): jailer-force
	@mkdir -p $(@D)
	@echo '$(subst ','\'',$(JAILER_FLAGS))' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
.PHONY: jailer-force
jailer-force:

-include $(JAILER_OBJ:.o=.d)

# Unit tests: tests/unit/test_jailer.c links the jailer's sources (all but
# main.c), built by unit.mk's rule with the sanitizers.
JAILER_UNIT_OBJ := $(JAILER_LIB_SRC:%.c=$(UNIT_B)/obj/%.o)
$(UNIT_B)/test_jailer: $(JAILER_UNIT_OBJ)
-include $(JAILER_UNIT_OBJ:.o=.d)

.PHONY: clean-jailer
clean: clean-jailer
clean-jailer:
	rm -rf $(JAILER_OBJDIR) $(B)/ember-jailer
