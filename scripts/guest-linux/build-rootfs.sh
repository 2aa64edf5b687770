#!/usr/bin/env bash
# deps: busybox-static e2fsprogs musl-tools
# Build ember's Linux guest root file system: a small ext4 image made by
# `mkfs.ext4 -d` from a staging directory (no loop mount, no root needed):
#
#   /bin/busybox          Debian's busybox-static, plus a symlink per applet
#   /sbin/init            init.c, static (musl)
#   /etc/ember/run        default script: prints EMBER-LINUX: READY and facts
#   /etc/ember/shell      interactive busybox shell on the console (demo)
#   /etc/ember/net        eth0 as 10.0.0.2/24, ping 10.0.0.1 (network check)
#   /etc/passwd, /etc/group, empty /dev /proc /sys /tmp /run /root /mnt
#
#   scripts/guest-linux/build-rootfs.sh OUT_DIR
#
# writes OUT_DIR/init and OUT_DIR/rootfs.ext4. Takes about a second, so it is
# not cached. The image is reproducible: fixed UUID, hash seed and
# timestamps, every file owned by root whoever builds it. (mkfs -d numbers
# inodes in the staging directory's readdir order, which depends on the build
# host's file system, so bytes match between hosts only for the same kind.)
# Environment: EMBER_ROOTFS_SIZE (default 32M).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

out=${1:?usage: build-rootfs.sh OUT_DIR}
size=${EMBER_ROOTFS_SIZE:-32M}
uuid=8d4b2f7c-3c1e-4e5a-9b0d-656d62657231 # fixed: the image is reproducible
epoch=1686355200 # every timestamp in the image (2023-06-10, Debian 12)
export LC_ALL=C

require_packages busybox-static e2fsprogs musl-tools
busybox=$(command -v busybox) || die "busybox not found (package busybox-static)"
if readelf -l "$busybox" | grep -q INTERP; then
	die "$busybox is dynamically linked; install busybox-static"
fi
PATH=$PATH:/sbin:/usr/sbin # mkfs.ext4 and debugfs, for users without sbin in PATH

mkdir -p "$out"
stage=$(mktemp -d "$out/rootfs.stage.XXXXXX")
trap 'rm -rf "$stage" "$out"/rootfs.ext4.tmp "$out"/rootfs.debugfs "$out"/rootfs.debugfs.err' EXIT

say "rootfs: compiling /sbin/init (musl-gcc -static)"
musl-gcc -static -Os -s -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -o "$out/init.tmp" "$here/init.c"
mv -f "$out/init.tmp" "$out/init"

bb_version=$("$busybox" --help 2>&1 | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p')
say "rootfs: staging busybox $bb_version and its applets"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc/ember,dev,proc,sys,tmp,run,root,mnt}
chmod 1777 "$stage/tmp"
chmod 0700 "$stage/root"
install -m 0755 "$busybox" "$stage/bin/busybox"
install -m 0755 "$out/init" "$stage/sbin/init"
# `busybox --install -s`, done here: one absolute symlink per applet.
# Its own init and linuxrc are left out: /sbin/init is ours.
while IFS= read -r applet; do
	case $applet in
	sbin/init | linuxrc | bin/busybox) continue ;;
	esac
	[[ -e $stage/$applet ]] || ln -s /bin/busybox "$stage/$applet"
done < <("$busybox" --list-full)
cp -R "$here/rootfs/." "$stage/"
chmod 0755 "$stage"/etc/ember/*
chmod 0644 "$stage/etc/passwd" "$stage/etc/group"

say "rootfs: mkfs.ext4 -d ($size, $(find "$stage" | wc -l) files)"
rm -f "$out/rootfs.ext4.tmp"
truncate -s "$size" "$out/rootfs.ext4.tmp"
E2FSPROGS_FAKE_TIME=$epoch mkfs.ext4 -q -F -b 4096 -L ember-root -U "$uuid" \
	-E "hash_seed=$uuid,root_owner=0:0" -d "$stage" "$out/rootfs.ext4.tmp"

# mkfs -d copies the builder's uid/gid and each file's ctime: make everything
# root's and of $epoch, and add the console and null nodes for kernels that do
# not mount devtmpfs on /dev.
{
	printf 'cd /dev\nmknod console c 5 1\nmknod null c 1 3\n'
	printf 'sif /dev/console mode 020600\nsif /dev/null mode 020666\n'
	{
		printf '%s\n' / /dev/console /dev/null
		(cd "$stage" && find . -mindepth 1 | sed 's|^\.||')
	} | while IFS= read -r path; do
		printf 'sif "%s" %s\n' "$path" "uid 0" "$path" "gid 0" \
			"$path" "atime @$epoch" "$path" "mtime @$epoch" "$path" "ctime @$epoch" \
			"$path" "crtime @$epoch"
	done
} >"$out/rootfs.debugfs"
E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$out/rootfs.debugfs" "$out/rootfs.ext4.tmp" \
	>/dev/null 2>"$out/rootfs.debugfs.err" || {
	cat "$out/rootfs.debugfs.err" >&2
	die "debugfs failed"
}
if grep -v '^debugfs ' "$out/rootfs.debugfs.err" | grep -q .; then
	cat "$out/rootfs.debugfs.err" >&2
	die "debugfs reported errors"
fi
fsck=$(e2fsck -fn "$out/rootfs.ext4.tmp" 2>&1) || {
	printf '%s\n' "$fsck" >&2
	die "e2fsck found errors in the new image"
}

mv -f "$out/rootfs.ext4.tmp" "$out/rootfs.ext4"
say "rootfs: $out/rootfs.ext4 ($size, ext4 4 KiB blocks, label ember-root)"
