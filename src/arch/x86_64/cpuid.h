/* SPDX-License-Identifier: Apache-2.0 */
/* CPUID normalisation: KVM's supported CPUID, made right for one vCPU of a
 * microVM (APIC IDs, topology leaves, the hypervisor bit), as Firecracker
 * normalises it. Pure functions over a struct kvm_cpuid2, unit-tested. */
#ifndef EMBER_ARCH_X86_64_CPUID_H
#define EMBER_ARCH_X86_64_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "common/util.h"

enum cpu_vendor { CPU_VENDOR_OTHER, CPU_VENDOR_INTEL, CPU_VENDOR_AMD };

struct cpuid_topo {
	unsigned index; /* this vCPU; its APIC ID */
	unsigned count; /* vCPUs in the VM */
	bool smt;	/* two threads per core */
	bool tsc_deadline;
};

/* Room for the entries normalisation may add (topology subleaves). */
#define CPUID_EXTRA_ENTRIES 16

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx);
enum cpu_vendor cpuid_vendor(const struct kvm_cpuid2 *c);
/* Guest physical address width (CPUID 0x80000008 EAX[7:0]), 36 if absent. */
unsigned cpuid_phys_bits(const struct kvm_cpuid2 *c);
/* Returns a new allocation holding the normalised copy of `supported`, or
 * NULL when out of memory. */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, const struct cpuid_topo *t);

/* Leaf 1 ECX / EDX / leaf 7 bits used here. */
#define CPUID_1_ECX_PDCM	      (1u << 15)
#define CPUID_1_ECX_X2APIC	      (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE      (1u << 24)
#define CPUID_1_ECX_HYPERVISOR	      (1u << 31)
#define CPUID_1_EDX_HTT		      (1u << 28)
#define CPUID_6_EAX_TURBO	      (1u << 1)
#define CPUID_6_ECX_EPB		      (1u << 3)
#define CPUID_7_EBX_FDP_EXCPTN_ONLY   (1u << 6)
#define CPUID_7_EBX_FCS_FDS_DEPR      (1u << 13)
#define CPUID_7_ECX_WAITPKG	      (1u << 5)
#define CPUID_80000001_ECX_TOPOEXT    (1u << 22)
#define CPUID_7_EDX_ARCH_CAPABILITIES (1u << 29)

#endif
