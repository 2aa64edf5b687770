# shellcheck shell=bash
# Helpers shared by build-kernel.sh, build-rootfs.sh and boot-qemu.sh.
# Sourced, never run. Callers set -euo pipefail.

# One line per stage, prefixed so it stands out in make's output.
say() {
	printf 'guest-linux: %s\n' "$*"
}

die() {
	printf 'guest-linux: error: %s\n' "$*" >&2
	exit 1
}

# require_packages PKG...: fail with the exact apt-get line when any Debian
# package is not installed.
require_packages() {
	command -v dpkg-query >/dev/null ||
		die "dpkg-query not found: these scripts need Debian 12 (bookworm) packages: $*"
	local pkg status missing=()
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		[[ $status == "install ok installed" ]] || missing+=("$pkg")
	done
	if ((${#missing[@]})); then
		printf 'guest-linux: error: missing Debian packages: %s\n' "${missing[*]}" >&2
		printf 'guest-linux: install them with:\n  sudo apt-get install -y %s\n' "${missing[*]}" >&2
		printf 'guest-linux: (or run scripts/install-deps)\n' >&2
		exit 1
	fi
}

# The per-user cache shared by every checkout: kernel builds live here.
cache_root() {
	printf '%s\n' "${EMBER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ember}"
}

# elapsed SECONDS_AT_START -> "1m07s"
elapsed() {
	local s=$((SECONDS - $1))
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# size_of FILE -> "17M"
size_of() {
	numfmt --to=iec "$(stat -c %s "$1")"
}

# install_file SRC DST: copy SRC over DST atomically (readers never see a
# half-written file) and give it a fresh mtime for make.
install_file() {
	cp -- "$1" "$2.tmp.$$"
	mv -f -- "$2.tmp.$$" "$2"
}
