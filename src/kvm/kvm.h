/* SPDX-License-Identifier: Apache-2.0 */
/* The KVM system and VM file descriptors: capability checks, the in-kernel
 * irqchip and PIT, memslots, irqfd and ioeventfd. */
#ifndef EMBER_KVM_KVM_H
#define EMBER_KVM_KVM_H

#include <linux/kvm.h>
#include <stdint.h>

#include "common/util.h"
#include "mem/guest_mem.h"

struct kvm {
	int dev_fd;
	int vm_fd;
	int run_size;  /* mmap size of struct kvm_run */
	int max_vcpus; /* KVM_CAP_MAX_VCPUS */
	bool tsc_deadline;
	struct kvm_cpuid2 *supported_cpuid; /* from KVM_GET_SUPPORTED_CPUID */
};

/* Opens /dev/kvm (path for tests), checks the API version and every
 * capability ember relies on. On failure, fills `err` with one line that
 * names the problem. 0 or -errno. */
int kvm_open(struct kvm *k, const char *path, char *err, size_t errlen) WUR;
/* KVM_CREATE_VM, then TSS and identity-map addresses, in-kernel irqchip and
 * PIT. */
int kvm_create_vm(struct kvm *k, char *err, size_t errlen) WUR;
/* One memslot per guest RAM region; dirty-page logging on request. */
int kvm_set_memslots(struct kvm *k, const struct guest_mem *gm, bool log_dirty) WUR;
/* Route eventfd `fd` to interrupt line `gsi`. */
int kvm_irqfd(struct kvm *k, int fd, uint32_t gsi) WUR;
/* Signal `fd` on a guest write of `len` bytes at `addr` (MMIO), matching
 * `datamatch` when `match` is set. `deassign` removes it. */
int kvm_ioeventfd(struct kvm *k, int fd, uint64_t addr, uint32_t len, bool match,
		  uint64_t datamatch, bool deassign) WUR;
void kvm_close(struct kvm *k);

#endif
