#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Builds tmpguard's container image from a Debian 12 root made by mmdebstrap: no registry pull.
#
#   packaging/container/build.sh [--root-cache DIR] [--mirror URL] BINARY IMAGE
#   packaging/container/build.sh build/tmpguard localhost/tmpguard:latest
#
# The root is minbase plus the packages that hold the shared libraries BINARY needs (its
# DT_NEEDED entries, resolved with ldd and mapped to packages with dpkg -S: build on the Debian
# 12 machine that built BINARY), from bookworm, bookworm-updates and bookworm-security. Into it
# go BINARY as /usr/sbin/tmpguard, packaging/container/tmpguard.yaml as
# /etc/tmpguard/tmpguard.yaml and the shipped policies in /usr/share/tmpguard/policies. The
# image runs `tmpguard daemon`: JSON findings on stdout (podman logs, kubectl logs), the event
# store in /var/lib/tmpguard (mount the host's there). docs/container.md says how to run it.
#
# --root-cache DIR keeps the mmdebstrap root (a tarball named after the package set) in DIR
# and reuses it for a week. Needs root, mmdebstrap and podman; $PODMAN (default: podman) may
# add global options (--root, --storage-driver, ...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security
usage() {
	echo "usage: $0 [--root-cache DIR] [--mirror URL] BINARY IMAGE" >&2
	exit 2
}
while [[ ${1:-} == --* ]]; do
	case $1 in
	--root-cache) cache=${2:?--root-cache needs a directory}; shift 2 ;;
	--mirror) mirror=${2:?--mirror needs a URL}; shift 2 ;;
	*) usage ;;
	esac
done
(($# == 2)) || usage
bin=$1
image=$2
read -r -a podman <<<"${PODMAN:-podman}"
for tool in mmdebstrap "${podman[0]}" dpkg readelf; do
	command -v "$tool" >/dev/null || {
		echo "build.sh: $tool is not installed (apt-get install mmdebstrap podman binutils)" >&2
		exit 1
	}
done
[[ -x $bin ]] || { echo "build.sh: $bin is not an executable (build tmpguard first)" >&2; exit 1; }

# The packages that hold the libraries BINARY links to: exactly those, no more.
pkgs=()
while read -r soname; do
	path=$(ldd "$bin" | awk -v s="$soname" '$1 == s && $2 == "=>" { print $3 }')
	[[ -n $path ]] || { echo "build.sh: ldd does not find $soname, which $bin needs" >&2; exit 1; }
	real=$(readlink -f "$path")
	pkg=
	for p in "$path" "$real" "/usr${real#/usr}" "${real#/usr}"; do
		pkg=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [[ -n $pkg ]] && break
	done
	[[ -n $pkg ]] || { echo "build.sh: no Debian package holds $real ($soname)" >&2; exit 1; }
	pkgs+=("$pkg")
done < <(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
echo "build.sh: runtime packages: ${pkgs[*]}"

# The root: minbase, merged /usr without the usrmerge package (and the perl it pulls in),
# without documentation, manuals and translations (copyright files stay).
key=$(printf '%s\n' "${pkgs[@]}" "$mirror" | sha256sum | cut -c1-12)
work=$(mktemp -d /var/tmp/tmpguard-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root.tar
if [[ -n $cache && -s $cache/bookworm-tmpguard-$key.tar &&
	-n $(find "$cache/bookworm-tmpguard-$key.tar" -mtime -7) ]]; then
	echo "build.sh: reusing the root $cache/bookworm-tmpguard-$key.tar"
	root=$cache/bookworm-tmpguard-$key.tar
else
	include=$(IFS=,; echo "${pkgs[*]}")
	mmdebstrap --quiet --variant=minbase --include="$include" \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
		bookworm "$root" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
		"deb $security bookworm-security main" </dev/null
	if [[ -n $cache ]]; then
		mkdir -p "$cache"
		cp "$root" "$cache/bookworm-tmpguard-$key.tar.part"
		mv "$cache/bookworm-tmpguard-$key.tar.part" "$cache/bookworm-tmpguard-$key.tar"
	fi
fi

# The build context: the root, and tmpguard's files as a second tarball, with their modes and
# root as their owner (ADD unpacks both; no RUN step, so no runtime is needed to build).
ctx=$work/context
files=$work/files
mkdir -p "$ctx" "$files/usr/share/tmpguard/policies"
ln "$root" "$ctx/root.tar" 2>/dev/null || cp "$root" "$ctx/root.tar"
install -D -m 0755 "$bin" "$files/usr/sbin/tmpguard"
install -D -m 0644 "$here/tmpguard.yaml" "$files/etc/tmpguard/tmpguard.yaml"
install -m 0644 "$src"/policies/*.yaml "$files/usr/share/tmpguard/policies/"
install -d -m 0700 "$files/var/lib/tmpguard"
tar -C "$files" --owner=0 --group=0 --numeric-owner -cf "$ctx/tmpguard.tar" .
cp "$here/Containerfile" "$ctx/Containerfile"
version=$("$bin" version 2>/dev/null | awk '{ print $2; exit }')
"${podman[@]}" build --quiet --file "$ctx/Containerfile" --tag "$image" \
	--build-arg TG_VERSION="${version:-unknown}" "$ctx"
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$image")
echo "build.sh: built $image (tmpguard ${version:-unknown}, $((size / 1000000)) MB)"
