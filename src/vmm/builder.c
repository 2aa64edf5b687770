/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration -> a VM ready to run. Everything a user can get wrong
 * (kernel, initrd, command line, sizes) is checked before any vCPU exists;
 * each step names what failed. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/vcpu_setup.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "vmm/vm.h"

static void vm_stop_cb(void *opaque, int code)
{
	vm_request_stop(opaque, code);
}

static void i8042_reset_cb(void *opaque)
{
	vm_request_stop(opaque, EXIT_OK);
}

static int open_ro(const char *path, const char *field, int *fd, char *err, size_t errlen)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "%s: cannot open '%s': %s", field, path, strerror(errno));
		return EXIT_BAD_CONFIG;
	}
	return 0;
}

/* boot_args (or Firecracker's default) plus what ember appends; checked
 * against the 2048-byte limit and, for a bzImage, the kernel's own. */
static int build_cmdline(struct vm *vm, char *err, size_t errlen)
{
	struct cmdline c;
	size_t cap = LAYOUT_CMDLINE_MAX;

	if (vm->boot.has_setup_header && vm->boot.setup.version >= 0x0206 &&
	    (size_t)vm->boot.setup.cmdline_size + 1 < cap)
		cap = (size_t)vm->boot.setup.cmdline_size + 1;
	cmdline_init(&c, cap);
	const char *args =
	    vm->cfg.boot.boot_args ? vm->cfg.boot.boot_args : CONFIG_DEFAULT_BOOT_ARGS;
	if (cmdline_append(&c, args) ||
	    (!cmdline_has(&c, "pci=") && cmdline_append(&c, "pci=off")) ||
	    vm_cmdline_virtio(vm, &c)) {
		snprintf(err, errlen,
			 "boot-source.boot_args: the kernel command line would exceed %zu bytes "
			 "(including the NUL)",
			 cap);
		return EXIT_BAD_CONFIG;
	}
	memcpy(vm->cmdline, c.buf, c.len + 1);
	vm->boot.cmdline_len = (uint32_t)c.len;
	return 0;
}

/* Guest RAM: mapped now, given to KVM later, so that everything about the
 * user's kernel is checked before KVM is touched. */
static int map_memory(struct vm *vm, char *err, size_t errlen)
{
	struct gm_layout layout;
	enum gm_backing backing =
	    vm->cfg.machine.huge_pages == HUGE_PAGES_2M ? GM_BACKING_HUGETLB_2M : GM_BACKING_4K;
	int ret;

	layout_ram(vm->cfg.machine.mem_size_mib << 20, &layout);
	if ((ret = gm_init(&vm->gm, &layout, backing))) {
		snprintf(err, errlen, "cannot map %" PRIu64 " MiB of guest memory%s: %s",
			 vm->cfg.machine.mem_size_mib,
			 backing == GM_BACKING_HUGETLB_2M ? " from 2 MiB huge pages" : "",
			 strerror(-ret));
		return EXIT_GENERIC;
	}
	return 0;
}

static int give_memory_to_kvm(struct vm *vm, char *err, size_t errlen)
{
	const struct gm_region *last = &vm->gm.region[vm->gm.nregions - 1];
	uint64_t top = last->base + last->size;
	unsigned bits = cpuid_phys_bits(vm->kvm.supported_cpuid);
	int ret;

	if (bits < 64 && top > (1ull << bits)) {
		snprintf(err, errlen,
			 "machine-config.mem_size_mib: %" PRIu64 " MiB ends at 0x%" PRIx64
			 ", beyond this host's %u-bit guest physical address space",
			 vm->cfg.machine.mem_size_mib, top, bits);
		return EXIT_BAD_CONFIG;
	}
	if ((ret = kvm_set_memslots(&vm->kvm, &vm->gm, vm->cfg.machine.track_dirty_pages))) {
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
		return EXIT_GENERIC;
	}
	return 0;
}

static int load_images(struct vm *vm, int kfd, int ifd, char *err, size_t errlen)
{
	char why[256];
	uint64_t mem = vm->cfg.machine.mem_size_mib << 20;
	int ret;

	if (loader_load_kernel(&vm->gm, kfd, vm->opts.boot_pref, &vm->boot, why, sizeof(why))) {
		snprintf(err, errlen, "boot-source.kernel_image_path: '%s': %s",
			 vm->cfg.boot.kernel_image_path, why);
		return EXIT_BAD_CONFIG;
	}
	if (ifd >= 0 && loader_load_initrd(&vm->gm, ifd, &vm->boot, why, sizeof(why))) {
		snprintf(err, errlen, "boot-source.initrd_path: '%s': %s", vm->cfg.boot.initrd_path,
			 why);
		return EXIT_BAD_CONFIG;
	}
	if ((ret = build_cmdline(vm, err, errlen)))
		return ret;
	if (gm_write(&vm->gm, LAYOUT_CMDLINE, vm->cmdline, vm->boot.cmdline_len + 1ull) ||
	    boot_write_tables(&vm->gm, vm->boot.proto) || boot_write_mptable(&vm->gm, vm->nvcpus) ||
	    (vm->boot.proto == BOOT_PVH ? boot_write_pvh(&vm->gm, mem, &vm->boot)
					: boot_write_zero_page(&vm->gm, mem, &vm->boot))) {
		snprintf(err, errlen,
			 "machine-config.mem_size_mib: %" PRIu64
			 " MiB is too small for the boot structures",
			 vm->cfg.machine.mem_size_mib);
		return EXIT_BAD_CONFIG;
	}
	LOG_INFO("kernel loaded: %s entry 0x%" PRIx64 ", image [0x%" PRIx64 ", 0x%" PRIx64 ")",
		 vm->boot.proto == BOOT_PVH ? "PVH" : "64-bit Linux boot protocol",
		 (uint64_t)vm->boot.entry, (uint64_t)vm->boot.kernel_start,
		 (uint64_t)vm->boot.kernel_end);
	return 0;
}

static int add_devices(struct vm *vm, char *err, size_t errlen)
{
	int ret;
	const char *step;

	step = "serial console";
	if ((ret = uart_init(&vm->uart, vm->opts.console_out, LAYOUT_IRQ_COM1)) ||
	    (ret = kvm_irqfd(&vm->kvm, vm->uart.irq.fd, LAYOUT_IRQ_COM1)) ||
	    (ret = bus_insert(&vm->pio, UART_COM1_BASE, UART_NREGS, &uart_ops, &vm->uart, "com1")))
		goto fail;
	step = "i8042";
	if ((ret = i8042_init(&vm->i8042, LAYOUT_IRQ_I8042, i8042_reset_cb, vm)) ||
	    (ret = kvm_irqfd(&vm->kvm, vm->i8042.irq.fd, LAYOUT_IRQ_I8042)) ||
	    (ret = bus_insert(&vm->pio, I8042_BASE, I8042_LEN, &i8042_ops, &vm->i8042, "i8042")))
		goto fail;
	if (vm->opts.boot_timer) {
		step = "boot timer";
		boot_timer_init(&vm->boot_timer, vm->start_us, vm->start_cpu_us);
		if ((ret = bus_insert(&vm->mmio, LAYOUT_BOOT_TIMER, LAYOUT_BOOT_TIMER_LEN,
				      &boot_timer_ops, &vm->boot_timer, "boot-timer")))
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "setting up the %s: %s", step, strerror(-ret));
	return EXIT_GENERIC;
}

static int create_vcpus(struct vm *vm, char *err, size_t errlen)
{
	int ret;

	vm->vcpu_env = (struct vcpu_env){
	    .pio = &vm->pio, .mmio = &vm->mmio, .gm = &vm->gm, .stop_vm = vm_stop_cb, .opaque = vm};
	vm->vcpus = calloc(vm->nvcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		snprintf(err, errlen, "out of memory");
		return EXIT_GENERIC;
	}
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct cpuid_topo topo = {.index = i,
					  .count = vm->nvcpus,
					  .smt = vm->cfg.machine.smt,
					  .tsc_deadline = vm->kvm.tsc_deadline};
		vm->vcpus[i].fd = -1;
		if ((ret = vcpu_create(&vm->kvm, i, &vm->vcpu_env, &vm->vcpus[i]))) {
			snprintf(err, errlen, "KVM_CREATE_VCPU %u: %s", i, strerror(-ret));
			return EXIT_GENERIC;
		}
		if (arch_vcpu_setup(&vm->kvm, vm->vcpus[i].fd, &topo, &vm->boot, err, errlen))
			return EXIT_GENERIC;
	}
	return 0;
}

void vm_request_stop(struct vm *vm, int code)
{
	vm->on_stop(vm->stop_opaque, code);
}

int vm_build(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
	     struct evl *evl, void (*on_stop)(void *opaque, int code), void *stop_opaque, char *err,
	     size_t errlen)
{
	int kfd = -1, ifd = -1, ret;
	char why[256];

	memset(vm, 0, sizeof(*vm));
	vm->kvm.dev_fd = vm->kvm.vm_fd = -1;
	vm->uart.notify_fd = vm->uart.irq.fd = -1;
	vm->i8042.irq.fd = -1;
	vm->evl = evl;
	vm->on_stop = on_stop;
	vm->stop_opaque = stop_opaque;
	vm->cfg = *cfg;
	vm->opts = *opts;
	vm->nvcpus = cfg->machine.vcpu_count;
	vm->start_us = now_mono_us();
	vm->start_cpu_us = process_cpu_us();
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");

	/* The user's files first: a typo is reported before KVM is touched. */
	if ((ret = open_ro(cfg->boot.kernel_image_path, "boot-source.kernel_image_path", &kfd, err,
			   errlen)))
		goto out;
	if (cfg->boot.initrd_path &&
	    (ret = open_ro(cfg->boot.initrd_path, "boot-source.initrd_path", &ifd, err, errlen)))
		goto out;

	/* Then drives and taps, still before KVM. */
	if ((ret = map_memory(vm, err, errlen)) || (ret = vm_create_virtio(vm, err, errlen)) ||
	    (ret = load_images(vm, kfd, ifd, err, errlen)))
		goto out;

	ret = EXIT_GENERIC;
	if (kvm_open(&vm->kvm, opts->kvm_path, why, sizeof(why)) ||
	    kvm_create_vm(&vm->kvm, why, sizeof(why))) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	if ((int)vm->nvcpus > vm->kvm.max_vcpus) {
		snprintf(err, errlen, "machine-config.vcpu_count: %u vCPUs, but KVM allows %d here",
			 vm->nvcpus, vm->kvm.max_vcpus);
		ret = EXIT_BAD_CONFIG;
		goto out;
	}
	if ((ret = give_memory_to_kvm(vm, err, errlen)) || (ret = add_devices(vm, err, errlen)) ||
	    (ret = vm_wire_virtio(vm, err, errlen)) || (ret = create_vcpus(vm, err, errlen)))
		goto out;
	LOG_INFO("VM built: %u vCPU(s), %" PRIu64 " MiB, command line: %s", vm->nvcpus,
		 cfg->machine.mem_size_mib, vm->cmdline);
out:
	close_fd(&kfd);
	close_fd(&ifd);
	return ret;
}
