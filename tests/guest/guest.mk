# Test guest: build/testguest.elf and build/testguest.bzImage.
# A freestanding x86-64 kernel that spends a few hundred instructions in
# ring 0 and runs everything else in ring 3; see tests/guest/README.md.
#
#   make testguest                  gcc
#   make testguest GUEST_CC=clang   clang (must also build warning-free)

GUEST_CC     ?= gcc
GUEST_DIR    := tests/guest
GUEST_B      := $(B)/guest
GUEST_CFLAGS := -ffreestanding -nostdlib -static -fno-pic -fno-pie \
                -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
                -O2 -std=gnu11 -Wall -Wextra -Werror \
                -fno-asynchronous-unwind-tables -fcf-protection=none \
                -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -Wl,-T,$(GUEST_DIR)/guest.ld \
                 -Wl,--build-id=none -Wl,-z,max-page-size=4096 \
                 -Wl,-z,noexecstack

GUEST_SRC  := $(wildcard $(GUEST_DIR)/*.S) $(wildcard $(GUEST_DIR)/*.c)
GUEST_OBJ  := $(patsubst $(GUEST_DIR)/%,$(GUEST_B)/%.o,$(GUEST_SRC))
# The objects depend on the compiler too: a GUEST_CC change rebuilds.
GUEST_STAMP := $(GUEST_B)/cc-$(notdir $(GUEST_CC)).stamp

.PHONY: testguest
testguest: $(B)/testguest.elf $(B)/testguest.bzImage

$(GUEST_STAMP):
	@mkdir -p $(GUEST_B)
	@rm -f $(GUEST_B)/cc-*.stamp
	@touch $@

$(GUEST_B)/%.S.o: $(GUEST_DIR)/%.S $(GUEST_DIR)/guest.mk $(GUEST_STAMP)
	@mkdir -p $(dir $@)
	@echo "  GUEST   $<"
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_B)/%.c.o: $(GUEST_DIR)/%.c $(GUEST_DIR)/guest.mk $(GUEST_STAMP)
	@mkdir -p $(dir $@)
	@echo "  GUEST   $<"
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(B)/testguest.elf: $(GUEST_OBJ) $(GUEST_DIR)/guest.ld
	@echo "  LD      $@"
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJ)

$(B)/testguest.bzImage: $(B)/testguest.elf $(GUEST_DIR)/mkbzimage.py
	@echo "  BZIMAGE $@"
	$(Q)$(PYTHON) $(GUEST_DIR)/mkbzimage.py $< $@

-include $(GUEST_OBJ:.o=.d)
