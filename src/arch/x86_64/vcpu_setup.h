/* SPDX-License-Identifier: Apache-2.0 */
/* A vCPU's boot state: CPUID, MSRs, registers, FPU, LAPIC. */
#ifndef EMBER_ARCH_X86_64_VCPU_SETUP_H
#define EMBER_ARCH_X86_64_VCPU_SETUP_H

#include <stddef.h>

#include "arch/x86_64/boot.h"
#include "arch/x86_64/cpuid.h"
#include "kvm/kvm.h"

/* Configures vCPU `fd` for boot; on failure `err` names the step. */
int arch_vcpu_setup(struct kvm *k, int fd, const struct cpuid_topo *topo,
		    const struct boot_info *bi, char *err, size_t errlen) WUR;

/* Formats the registers that explain a fatal exit, one line. */
void arch_vcpu_dump(int fd, char *buf, size_t len);

/* Reads up to 15 instruction bytes at the vCPU's RIP through KVM_TRANSLATE
 * and guest memory. Returns the count read (0 if unmapped). */
unsigned arch_vcpu_insn_bytes(int fd, const struct guest_mem *gm, uint8_t *out);

/* The boot MSRs (index, value), exposed for tests. */
struct boot_msr {
	uint32_t index;
	uint64_t value;
};
extern const struct boot_msr arch_boot_msrs[];
extern const size_t arch_boot_msrs_count;

#endif
