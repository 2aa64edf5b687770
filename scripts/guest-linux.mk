# Linux guest: build/linux/vmlinux, build/linux/bzImage, build/linux/rootfs.ext4.
# See scripts/guest-linux/README.md.
#
#   make guest-linux        kernel (cached by input hash outside the tree) + rootfs
#   make guest-linux-qemu   boot both under QEMU (TCG) to "EMBER-LINUX: READY"
#
# The kernel is built by scripts/guest-linux/build-kernel.sh from Debian's
# linux-source-6.1; a build whose inputs were already built (by any checkout)
# only copies the result from ${EMBER_CACHE_DIR:-~/.cache/ember}/linux-<hash>/.

GL_DIR := scripts/guest-linux
GL_OUT := $(B)/linux

# Every input of the kernel hash; the package tarball too, so an upgraded
# linux-source-6.1 rebuilds.
GL_KERNEL_INPUTS := $(GL_DIR)/ember.config $(GL_DIR)/build-kernel.sh $(GL_DIR)/lib.sh \
                    $(wildcard /usr/src/linux-source-6.1.tar.xz)
GL_ROOTFS_INPUTS := $(GL_DIR)/build-rootfs.sh $(GL_DIR)/lib.sh $(GL_DIR)/init.c \
                    $(shell find $(GL_DIR)/rootfs) $(wildcard /bin/busybox)

.PHONY: guest-linux guest-linux-qemu
guest-linux: $(GL_OUT)/vmlinux $(GL_OUT)/bzImage $(GL_OUT)/rootfs.ext4

# One run of the script writes both kernel images (and config, System.map).
$(GL_OUT)/vmlinux $(GL_OUT)/bzImage &: $(GL_KERNEL_INPUTS)
	$(GL_DIR)/build-kernel.sh $(GL_OUT)

$(GL_OUT)/rootfs.ext4: $(GL_ROOTFS_INPUTS)
	$(GL_DIR)/build-rootfs.sh $(GL_OUT)

guest-linux-qemu: guest-linux
	$(GL_DIR)/boot-qemu.sh $(GL_OUT)
