#!/usr/bin/env bash
# deps: linux-source-6.1 make gcc libc6-dev binutils bc bison flex libelf-dev libssl-dev xz-utils
# Build ember's Linux guest kernel from Debian's linux-source-6.1 package:
# `make tinyconfig` + ember.config (merge_config.sh) + `make olddefconfig`,
# then vmlinux (uncompressed ELF with the PVH note) and bzImage.
#
#   scripts/guest-linux/build-kernel.sh OUT_DIR
#
# writes OUT_DIR/vmlinux, OUT_DIR/bzImage, OUT_DIR/config, OUT_DIR/System.map.
#
# Builds are cached by a hash of their inputs under
#   ${EMBER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ember}/linux-<hash>/
# so a second run (or another checkout) only copies four files.
# The source is unpacked into ${cache}/linux-tree-<source hash>/ (named by the
# package and toolchain versions only) and removed after a successful build;
# a failed or interrupted build leaves it, and the next run resumes there.
# Environment: EMBER_CACHE_DIR (cache location), EMBER_KEEP_LINUX_TREE=1 (keep
# the 1.6 GB tree after success, so that the next ember.config change is an
# incremental build), JOBS (default: nproc).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

out=${1:?usage: build-kernel.sh OUT_DIR}
fragment=$here/ember.config
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
jobs=${JOBS:-$(nproc)}
export LC_ALL=C

# Keep the caller's make (jobserver, CC=... on its command line) and any
# kernel-build variables in the environment out of the kernel's make.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
unset ARCH CROSS_COMPILE LLVM O KBUILD_OUTPUT KCONFIG_CONFIG KCONFIG_ALLCONFIG
# Reproducible: uname -v and /proc/version do not depend on who built when.
export KBUILD_BUILD_USER=ember KBUILD_BUILD_HOST=ember KBUILD_BUILD_VERSION=1
KBUILD_BUILD_TIMESTAMP=$(date -u -d @0)
export KBUILD_BUILD_TIMESTAMP
kmake=(make ARCH=x86_64)

# ---------------------------------------------------------------- config check
# check_config CONFIG: every CONFIG_ line of ember.config must hold in CONFIG.
# "CONFIG_X=v" must appear verbatim; "# CONFIG_X is not set" forbids CONFIG_X=.
check_config() {
	local config=$1 line sym actual bad=0
	while IFS= read -r line; do
		if [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			sym=${BASH_REMATCH[1]}
			actual=$(grep -E "^$sym=" "$config" || true)
			[[ -z $actual ]] && continue
		elif [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)= ]]; then
			sym=${BASH_REMATCH[1]}
			grep -qxF -- "$line" "$config" && continue
			actual=$(grep -E "^(# )?${sym}[= ]" "$config" || echo "(absent: dependencies not met)")
		else
			continue
		fi
		printf 'guest-linux: error: ember.config asks "%s", the kernel config has "%s"\n' \
			"$line" "$actual" >&2
		bad=1
	done <"$fragment"
	((bad == 0)) || die "$(basename "$config"): options of ember.config not applied (see above)"
}

# ---------------------------------------------------------------- progress
# condense LOG: kbuild output on stdin goes whole to LOG; the terminal sees
# warnings, errors, the link steps and a progress line (every second on a
# terminal, every 20 s otherwise) with the number of files built so far.
condense() {
	local log=$1 hint=$2 start=$SECONDS next=$SECONDS n=0 cur="" buf="" part line rc
	local tty=0 period=20 status
	[[ -t 1 ]] && tty=1 period=1
	exec 3>>"$log"
	while :; do
		if IFS= read -r -t 1 part; then
			line=$buf$part buf=""
			printf '%s\n' "$line" >&3
			case $line in
			"  "[A-Z]*" "*)
				n=$((n + 1)) cur=${line##* }
				case $line in
				"  LD      vmlinux" | "  BUILD   "* | "  ZOFFSET"* | "  OBJCOPY arch/x86/boot/"*)
					((tty)) && printf '\r\033[K'
					printf '    %s\n' "${line#  }"
					;;
				esac
				;;
			*warning:* | *error:* | *Error* | Kernel:*)
				((tty)) && printf '\r\033[K'
				printf '    %s\n' "$line"
				;;
			esac
		else
			rc=$?
			((rc > 128)) || break # EOF
			buf+=$part           # timed out inside a line: keep the piece
		fi
		if ((SECONDS >= next)); then
			next=$((SECONDS + period))
			status="compiling: $n steps"
			((hint > 0)) && status+=" of ~$hint"
			status+=", $(elapsed "$start"), at ${cur:-...}"
			if ((tty)); then printf '\r\033[K    %s' "$status"; else printf '    %s\n' "$status"; fi
		fi
	done
	[[ -n $buf ]] && printf '%s\n' "$buf" >&3
	((tty)) && printf '\r\033[K'
	printf '    compiled: %d steps in %s\n' "$n" "$(elapsed "$start")"
	exec 3>&-
	printf '%d\n' "$n" >"$log.steps"
}

# ---------------------------------------------------------------- inputs, hash
require_packages linux-source-6.1 make gcc libc6-dev binutils bc bison flex \
	libelf-dev libssl-dev xz-utils
[[ -r $tarball ]] || die "$tarball not found (package linux-source-6.1)"

pkg_version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
gcc_version=$(gcc --version | head -n1)
ld_version=$(ld --version | head -n1)
toolchain=$(printf 'linux-source-6.1 %s\n%s\n%s\n' "$pkg_version" "$gcc_version" "$ld_version")
# The result is named by every input; the unpacked tree only by the source
# and the toolchain, so that it can serve several configurations.
hash=$({
	printf '%s\n' "$toolchain"
	cat "$fragment" "$here/build-kernel.sh" "$here/lib.sh"
} | sha256sum | cut -c1-16)
tree_hash=$(printf '%s\n' "$toolchain" | sha256sum | cut -c1-16)

cache=$(cache_root)
entry=$cache/linux-$hash
work=$cache/linux-tree-$tree_hash
products=(vmlinux bzImage config System.map)

install_products() {
	mkdir -p "$out"
	local f
	for f in "${products[@]}"; do install_file "$entry/$f" "$out/$f"; done
	printf '%s\n' "$hash" >"$out/kernel.hash"
	touch "$entry/done" # last use, for the pruning below
}

# Keep the 5 most recently used results (about 20 MB each).
prune_cache() {
	local old
	# shellcheck disable=SC2012 # names are ours: linux-<hex>
	ls -1td "$cache"/linux-*/done 2>/dev/null | tail -n +6 | while IFS= read -r old; do
		say "kernel: pruning the old cached build $(dirname "$old")"
		rm -rf "$(dirname "$old")"
	done
}

if [[ -f $entry/done ]]; then
	say "kernel: cached build linux-$hash (linux-source-6.1 $pkg_version) -> $out/"
	install_products
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/linux.lock"
if ! flock -n 9; then
	say "kernel: waiting for another kernel build using $cache ..."
	flock 9
fi
if [[ -f $entry/done ]]; then # built by whoever held the lock
	say "kernel: cached build linux-$hash -> $out/"
	install_products
	exit 0
fi

# Trees of another source or toolchain are of no further use (we hold the lock).
for stale in "$cache"/linux-tree-*; do
	[[ -d $stale && $stale != "$work" ]] || continue
	say "kernel: removing the outdated build tree $stale"
	rm -rf "$stale"
done

t0=$SECONDS
say "kernel: building linux-$hash: linux-source-6.1 $pkg_version, $gcc_version, -j$jobs"
say "kernel: work tree $work (log: $work/build.log)"

# ---------------------------------------------------------------- 1. unpack
# A tree left by an interrupted or failed build (or kept on purpose) is
# reused: kbuild is incremental, so the build resumes where it stopped.
src=$work/src
if [[ -f $work/unpacked ]]; then
	say "[1/5] reusing the unpacked source tree (incremental build)"
else
	say "[1/5] unpacking $(basename "$tarball") ($(size_of "$tarball"))"
	rm -rf "$work"
	mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$work/unpacked"
fi
log=$work/build.log
: >"$log"

# ---------------------------------------------------------------- 2. configure
say "[2/5] configuring: tinyconfig + ember.config, olddefconfig"
{
	"${kmake[@]}" -C "$src" tinyconfig
	(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$fragment")
	"${kmake[@]}" -C "$src" olddefconfig
} >>"$log" 2>&1 || {
	tail -n 30 "$log" >&2
	die "kernel configuration failed (log: $log)"
}
check_config "$src/.config"
say "      $(grep -c '=y$' "$src/.config") options built in; every ember.config option as asked"

# ---------------------------------------------------------------- 3. compile
say "[3/5] compiling vmlinux and bzImage (make -j$jobs; kbuild output in $log)"
hint=$(cat "$cache/linux.steps" 2>/dev/null || echo 0)
if ! "${kmake[@]}" -C "$src" -j"$jobs" vmlinux bzImage 2>&1 | condense "$log" "$hint"; then
	grep -E 'error|Error' "$log" | tail -n 20 >&2 || true
	die "kernel build failed after $(elapsed "$t0"); the tree stays in $work (rerun to resume; full log: $log)"
fi

# ---------------------------------------------------------------- 4. check
say "[4/5] checking the result"
check_config "$src/.config"
vmlinux=$src/vmlinux
elf_header=$(readelf -h "$vmlinux")
elf_phdrs=$(readelf -l "$vmlinux")
elf_notes=$(readelf -n "$vmlinux")
grep -q 'Class:[[:space:]]*ELF64' <<<"$elf_header" || die "vmlinux is not ELF64"
grep -q 'Machine:[[:space:]]*Advanced Micro Devices X86-64' <<<"$elf_header" ||
	die "vmlinux is not x86-64"
if grep -q INTERP <<<"$elf_phdrs"; then die "vmlinux is not statically linked"; fi
# XEN_ELFNOTE_PHYS32_ENTRY (0x12): the PVH entry point.
grep -A1 -E '^[[:space:]]*Xen[[:space:]]' <<<"$elf_notes" | grep -qE '0x00000012|PHYS32_ENTRY' ||
	die "vmlinux has no PVH note (Xen note type 0x12)"
say "      ELF64 x86-64, static, PVH note present; vmlinux $(size_of "$vmlinux")," \
	"bzImage $(size_of "$src/arch/x86/boot/bzImage")"

# ---------------------------------------------------------------- 5. cache
say "[5/5] storing in $entry"
rm -rf "$entry.tmp"
mkdir -p "$entry.tmp"
cp "$vmlinux" "$src/arch/x86/boot/bzImage" "$src/System.map" "$entry.tmp/"
cp "$src/.config" "$entry.tmp/config"
cp "$log" "$entry.tmp/build.log"
printf 'linux-source-6.1 %s\n%s\n%s\nbuilt in %s\n' "$pkg_version" "$gcc_version" \
	"$ld_version" "$(elapsed "$t0")" >"$entry.tmp/inputs"
touch "$entry.tmp/done"
rm -rf "$entry"
mv "$entry.tmp" "$entry"
cp "$log.steps" "$cache/linux.steps"
if [[ ${EMBER_KEEP_LINUX_TREE:-0} == 1 ]]; then
	say "      keeping the build tree $work (EMBER_KEEP_LINUX_TREE=1)"
else
	rm -rf "$work"
fi

install_products
prune_cache
say "kernel: built in $(elapsed "$t0") -> $out/{vmlinux,bzImage,config,System.map}"
