#!/usr/bin/env bash
# deps: qemu-system-x86
# Boot the Linux guest under QEMU's microvm machine with TCG (pure software
# emulation: works on any host, including ones whose /dev/kvm cannot run a
# Linux kernel) and check that it reaches "EMBER-LINUX: READY", runs its
# script to the end and reboots.
#
#   scripts/guest-linux/boot-qemu.sh [OUT_DIR [EXTRA KERNEL ARGS...]]
#
# OUT_DIR defaults to build/linux. The serial console is copied to the
# terminal and to OUT_DIR/qemu-boot.log. Exit status 0 only when the run
# script finished and the VM rebooted.
# Environment: QEMU_TIMEOUT (seconds, default 300), QEMU_SMP (2), QEMU_MEM (256M),
# QEMU_ACCEL (tcg; "kvm" on a host with hardware virtualization),
# QEMU_KERNEL (vmlinux, or bzImage).
# To get the interactive demo shell instead: EXTRA ARGS ember.run=/etc/ember/shell
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

out=${1:-build/linux}
shift || true
timeout_s=${QEMU_TIMEOUT:-300}
accel=${QEMU_ACCEL:-tcg}

require_packages qemu-system-x86
kernel=${QEMU_KERNEL:-vmlinux}
for f in "$kernel" rootfs.ext4; do
	[[ -f $out/$f ]] || die "$out/$f missing: run make guest-linux"
done

# microvm with acpi=off appends one virtio_mmio.device=<size>@<addr>:<irq>
# per virtio device to the command line below (auto-kernel-cmdline), the way
# ember does, and its firmware (qboot) writes an MP table, which is all the
# kernel reads. microvm has no i8042: reboot=k (ember's choice) would end in
# the firmware's reset vector and boot again, so here reboot=t: a triple
# fault, which -no-reboot turns into QEMU's exit.
cmdline="console=ttyS0 earlyprintk=ttyS0 reboot=t panic=1 root=/dev/vda rw${*:+ $*}"
cmd=(timeout --foreground -k 5 "$timeout_s"
	qemu-system-x86_64 -M "microvm,acpi=off,rtc=on" -accel "$accel" -cpu max
	-m "${QEMU_MEM:-256M}" -smp "${QEMU_SMP:-2}"
	-nodefaults -no-user-config -nographic -serial stdio -no-reboot
	-kernel "$out/$kernel" -append "$cmdline"
	-device "virtio-blk-device,drive=root"
	-drive "id=root,if=none,format=raw,file=$out/rootfs.ext4,snapshot=on"
	-device virtio-rng-device)
# The command, quoted for copying into a shell.
shown=""
for arg in "${cmd[@]}"; do
	if [[ $arg =~ ^[A-Za-z0-9_./,=:@+-]+$ ]]; then shown+=" $arg"; else shown+=" '$arg'"; fi
done
say "qemu:$shown"

log=$out/qemu-boot.log
start=$SECONDS
set +e
"${cmd[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
say "qemu: exit status $rc after $(elapsed "$start")"

grep -q '^EMBER-LINUX: READY' "$log" || die "the guest did not reach EMBER-LINUX: READY (log: $log)"
grep -q '^EMBER-INIT: rebooting' "$log" || die "the guest did not finish its script (log: $log)"
((rc == 0)) || die "QEMU exited with status $rc (124: timeout; log: $log)"
say "qemu: OK: READY reached, script finished, VM rebooted"
