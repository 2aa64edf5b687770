/* SPDX-License-Identifier: Apache-2.0 */
#include "kvm/kvm.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/layout.h"
#include "common/log.h"

#define KVM_CPUID_MAX_ENTRIES 256

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
    {KVM_CAP_IRQCHIP, "IRQCHIP"},
    {KVM_CAP_IOEVENTFD, "IOEVENTFD"},
    {KVM_CAP_IRQFD, "IRQFD"},
    {KVM_CAP_USER_MEMORY, "USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "SET_IDENTITY_MAP_ADDR"},
    {KVM_CAP_PIT2, "PIT2"},
    {KVM_CAP_EXT_CPUID, "EXT_CPUID"},
    {KVM_CAP_MP_STATE, "MP_STATE"},
    {KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT"},
};

int kvm_open(struct kvm *k, const char *path, char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	k->vm_fd = -1;
	k->dev_fd = open(path, O_RDWR | O_CLOEXEC);
	if (k->dev_fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s%s", path, strerror(e),
			 e == EACCES   ? " (is this user allowed to use KVM?)"
			 : e == ENOENT ? " (is the kvm module loaded?)"
				       : "");
		return -e;
	}
	int ver = ioctl(k->dev_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		snprintf(err, errlen, "%s: KVM API version %d, ember needs %d", path, ver,
			 KVM_API_VERSION);
		goto err_close;
	}
	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++) {
		if (ioctl(k->dev_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			snprintf(err, errlen, "%s lacks the capability KVM_CAP_%s", path,
				 required_caps[i].name);
			goto err_close;
		}
	}
	k->run_size = ioctl(k->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size < (int)sizeof(struct kvm_run)) {
		snprintf(err, errlen, "%s: bad KVM_GET_VCPU_MMAP_SIZE %d", path, k->run_size);
		goto err_close;
	}
	k->max_vcpus = ioctl(k->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = ioctl(k->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	k->tsc_deadline = ioctl(k->dev_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;

	k->supported_cpuid = calloc(1, sizeof(struct kvm_cpuid2) +
					   KVM_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!k->supported_cpuid) {
		snprintf(err, errlen, "out of memory");
		goto err_close;
	}
	k->supported_cpuid->nent = KVM_CPUID_MAX_ENTRIES;
	if (ioctl(k->dev_fd, KVM_GET_SUPPORTED_CPUID, k->supported_cpuid) < 0) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto err_free;
	}
	return 0;

err_free:
	free(k->supported_cpuid);
	k->supported_cpuid = NULL;
err_close:
	close_fd(&k->dev_fd);
	return -ENODEV;
}

int kvm_create_vm(struct kvm *k, char *err, size_t errlen)
{
	uint64_t idmap = LAYOUT_KVM_IDENTITY_MAP;
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	const char *step;

	do
		k->vm_fd = ioctl(k->dev_fd, KVM_CREATE_VM, 0);
	while (k->vm_fd < 0 && errno == EINTR);
	if (k->vm_fd < 0) {
		step = "KVM_CREATE_VM";
		goto err;
	}
	step = "KVM_SET_IDENTITY_MAP_ADDR";
	if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		goto err;
	step = "KVM_SET_TSS_ADDR";
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS) < 0)
		goto err;
	step = "KVM_CREATE_IRQCHIP";
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto err;
	step = "KVM_CREATE_PIT2";
	if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		goto err;
	return 0;
err : {
	int e = errno;
	snprintf(err, errlen, "%s: %s", step, strerror(e));
	close_fd(&k->vm_fd);
	return -e;
}
}

int kvm_set_memslots(struct kvm *k, const struct guest_mem *gm, bool log_dirty)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		struct kvm_userspace_memory_region r = {
		    .slot = i,
		    .flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		    .guest_phys_addr = gm->region[i].base,
		    .memory_size = gm->region[i].size,
		    .userspace_addr = (uintptr_t)gm->region[i].host,
		};
		if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return -errno;
	}
	return 0;
}

int kvm_irqfd(struct kvm *k, int fd, uint32_t gsi)
{
	struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = gsi};
	return ioctl(k->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

int kvm_ioeventfd(struct kvm *k, int fd, uint64_t addr, uint32_t len, bool match,
		  uint64_t datamatch, bool deassign)
{
	struct kvm_ioeventfd io = {
	    .datamatch = datamatch,
	    .addr = addr,
	    .len = len,
	    .fd = fd,
	    .flags = (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
		     (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
	};
	return ioctl(k->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

void kvm_close(struct kvm *k)
{
	close_fd(&k->vm_fd);
	close_fd(&k->dev_fd);
	free(k->supported_cpuid);
	k->supported_cpuid = NULL;
}
