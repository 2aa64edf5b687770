# Linux guest: build/linux/vmlinux, build/linux/rootfs.ext4.
.PHONY: guest-linux
guest-linux:
