#!/usr/bin/env bash
# Run one command as root inside a throwaway QEMU VM that boots a Debian kernel from /boot and
# sees this machine's root file system read-only (9p), with fresh tmpfs over /tmp, /var/tmp,
# /root, /var/lib and /run. The VM tier of the tests uses it to load BPF LSM programs and to run
# the live suite on other kernels. See tests/vm/README.md.
#
# Exit status: the command's; 77 when qemu, a static busybox or the kernel (or its modules) is
# missing (skipped); 124 on timeout; 1 when the VM ended without reporting the command's status;
# 2 on a usage error.
set -euo pipefail
PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin

PROG=run-in-vm.sh
SELF=$(readlink -f "${BASH_SOURCE[0]}")
CACHE_FORMAT=1 # bump when the layout of the cached initramfs changes

usage() {
	cat <<'EOF'
Usage: tests/vm/run-in-vm.sh [OPTIONS] -- COMMAND [ARGS...]
       tests/vm/run-in-vm.sh --probe

Boot a Debian kernel from /boot under QEMU (TCG), chroot into this machine's root file system
(read-only, over 9p) and run COMMAND there as root, in the current directory. COMMAND's stdout
and stderr come back on stdout and stderr; the exit status is COMMAND's.

Options:
  --kernel VERSION   kernel to boot: a full version (6.1.0-28-amd64) or a prefix matched
                     against /boot/vmlinuz-* ("6.1", "6.12"); the newest match wins.
                     Default: the newest 6.1 kernel.
  --timeout SECONDS  kill the VM after this long, exit 124 (default 600)
  --mem MB           guest memory (default $MEM or 2048)
  --smp N            guest CPUs (default 2)
  --cwd DIR          directory to run COMMAND in (default: the current directory)
  --env NAME[=VALUE] pass one more variable (PATH, LANG, LC_*, TZ and every TG_* and TMPGUARD*
                     variable are passed anyway); repeatable
  --overlay DIR      make DIR writable in the guest (overlayfs, tmpfs upper layer, discarded at
                     the end); repeatable. For /tmp, /var/tmp, /root, /var/lib or /run: the
                     host's contents, writable, instead of an empty tmpfs
  --expose DIR       show the host's DIR, read-only, at the same path even when it lies below
                     /tmp, /var/tmp, /root, /var/lib or /run (a checkout or build tree there);
                     repeatable; a no-op for other directories. The current directory (or
                     --cwd) is exposed this way automatically
  --append PARAMS    extra kernel command line parameters (e.g. lsm=...)
  --systemd          boot systemd as PID 1 over the prepared root (instead of chroot) and run
                     COMMAND as a service of it (tmpguard-vm.service, in /run/systemd/system);
                     the VM powers off when COMMAND ends. For tests of the shipped unit
  --probe            print the guest's kernel release, active LSMs, BTF and boot time on stderr
                     before COMMAND (COMMAND may then be omitted)
  --rebuild          rebuild the cached initramfs even if its inputs did not change
  -v, --verbose      copy the guest's serial console (boot log) to stderr
  -h, --help         this text

Environment: TG_VM_CACHE (cache directory, default /var/cache/tmpguard-vm),
TG_VM_BUSYBOX (a static busybox, default /bin/busybox), TG_VM_QEMU (default
qemu-system-x86_64), MEM (default for --mem), TG_VM_PVH=0 (boot the compressed bzImage instead
of the extracted vmlinux), TG_VM_9P_CACHE (9p cache mode, default loose).
EOF
}

# A missing prerequisite skips (77), except in CI (CI=true), which installs them all
# (.ci/setup --tests): there a skip would hide a broken install, so it fails.
skip() {
	if [[ ${CI:-} == true ]]; then
		echo "$PROG: cannot run in CI: $*" >&2
		exit 1
	fi
	echo "$PROG: skipped: $*" >&2
	exit 77
}

usage_error() {
	echo "$PROG: $*" >&2
	echo "Try '$PROG --help'." >&2
	exit 2
}

# Quote a string for a POSIX shell: 'it'\''s'. Safe for any byte but NUL.
shquote() {
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------
opt_kernel=
opt_timeout=600
opt_mem=${MEM:-2048}
opt_smp=2
opt_cwd=
opt_probe=0
opt_systemd=0
opt_rebuild=0
opt_verbose=0
opt_append=
opt_env=()
opt_overlays=()
opt_exposes=()

need_arg() {
	[[ $# -ge 2 ]] || usage_error "option $1 needs an argument"
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--kernel) need_arg "$@"; opt_kernel=$2; shift 2 ;;
	--kernel=*) opt_kernel=${1#*=}; shift ;;
	--timeout) need_arg "$@"; opt_timeout=$2; shift 2 ;;
	--timeout=*) opt_timeout=${1#*=}; shift ;;
	--mem) need_arg "$@"; opt_mem=$2; shift 2 ;;
	--mem=*) opt_mem=${1#*=}; shift ;;
	--smp) need_arg "$@"; opt_smp=$2; shift 2 ;;
	--smp=*) opt_smp=${1#*=}; shift ;;
	--cwd) need_arg "$@"; opt_cwd=$2; shift 2 ;;
	--cwd=*) opt_cwd=${1#*=}; shift ;;
	--env) need_arg "$@"; opt_env+=("$2"); shift 2 ;;
	--env=*) opt_env+=("${1#*=}"); shift ;;
	--overlay) need_arg "$@"; opt_overlays+=("$2"); shift 2 ;;
	--expose) need_arg "$@"; opt_exposes+=("$2"); shift 2 ;;
	--expose=*) opt_exposes+=("${1#*=}"); shift ;;
	--overlay=*) opt_overlays+=("${1#*=}"); shift ;;
	--append) need_arg "$@"; opt_append+=" $2"; shift 2 ;;
	--append=*) opt_append+=" ${1#*=}"; shift ;;
	--probe) opt_probe=1; shift ;;
	--systemd) opt_systemd=1; shift ;;
	--rebuild) opt_rebuild=1; shift ;;
	-v | --verbose) opt_verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) usage_error "unknown option $1" ;;
	*) break ;;
	esac
done
cmd=("$@")
if [[ ${#cmd[@]} -eq 0 ]]; then
	[[ $opt_probe = 1 ]] || usage_error "no COMMAND given"
	cmd=(true)
fi

is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [[ $1 -gt 0 ]]; }
is_uint "$opt_timeout" || usage_error "--timeout wants a positive number of seconds, not '$opt_timeout'"
is_uint "$opt_mem" || usage_error "--mem wants a positive number of MiB, not '$opt_mem'"
is_uint "$opt_smp" || usage_error "--smp wants a positive number of CPUs, not '$opt_smp'"

# The guest sees the host's root file system, but /tmp, /var/tmp, /root, /var/lib and /run are
# fresh tmpfs there: a directory below one of them does not exist in the guest.
MASKED_DIRS=(/tmp /var/tmp /root /var/lib /run)
masked() {
	local d
	for d in "${MASKED_DIRS[@]}"; do
		[[ $1 == "$d"/* ]] && return 0
	done
	return 1
}

cwd=${opt_cwd:-$PWD}
[[ $cwd == /* ]] || cwd=$PWD/$cwd
[[ -d $cwd ]] || usage_error "--cwd $cwd: no such directory"
if masked "$cwd"; then
	cwd=$(cd "$cwd" && pwd -P)
	masked "$cwd" && opt_exposes+=("$cwd")
fi
# Directories below a masked one are bind-mounted back, read-only, at their own path.
exposes=()
for d in "${opt_exposes[@]}"; do
	[[ $d == /* && -d $d ]] || usage_error "--expose $d: not an absolute path to a directory"
	d=$(cd "$d" && pwd -P)
	[[ $d != *$'\n'* ]] || usage_error "--expose $d: a path with a newline"
	masked "$d" && exposes+=("$d")
done

for d in "${opt_overlays[@]}"; do
	[[ $d == /* && -d $d ]] || usage_error "--overlay $d: not an absolute path to a directory"
	[[ $d != *[,:\\$'\n']* ]] || usage_error "--overlay $d: overlayfs cannot take a path with , : \\ or a newline"
	masked "$d" && usage_error "--overlay $d: below a directory that is an empty tmpfs in the guest (overlay that directory itself)"
done

# ---------------------------------------------------------------------------------------------
# Requirements: qemu, a static busybox, the kernel and its modules. Missing ones skip (77).
# ---------------------------------------------------------------------------------------------
QEMU=${TG_VM_QEMU:-qemu-system-x86_64}
QEMU=$(command -v "$QEMU") ||
	skip "${TG_VM_QEMU:-qemu-system-x86_64} not found (apt-get install qemu-system-x86)"

BUSYBOX=${TG_VM_BUSYBOX:-}
if [[ -z $BUSYBOX ]]; then
	for b in /bin/busybox /usr/bin/busybox; do
		[[ -x $b ]] && BUSYBOX=$b && break
	done
fi
[[ -n $BUSYBOX && -x $BUSYBOX ]] || skip "busybox not found (apt-get install busybox-static)"
# A dynamic busybox would need the host's libc inside the initramfs.
if LC_ALL=C ldd "$BUSYBOX" 2>&1 | grep -q '=>'; then
	skip "$BUSYBOX is dynamically linked; the VM's initramfs needs a static one (apt-get install busybox-static)"
fi

for t in gzip sha256sum timeout flock mkfifo; do
	command -v "$t" >/dev/null || skip "$t not found"
done
if command -v cpio >/dev/null; then
	make_cpio() { cpio --quiet --null -o -H newc -R 0:0; }
else
	make_cpio() { "$BUSYBOX" cpio -o -H newc -0; }
fi

# Kernel: exact version, else the newest /boot/vmlinuz-<want>[.-+]*.
kernels() {
	local f
	for f in /boot/vmlinuz-*; do
		[[ -e $f ]] && echo "${f#/boot/vmlinuz-}"
	done | sort -V
}
want=${opt_kernel:-6.1}
if [[ -e /boot/vmlinuz-$want ]]; then
	KVER=$want
else
	KVER=$(kernels | awk -v p="$want" 'index($0, p ".") == 1 || index($0, p "-") == 1 ||
		index($0, p "+") == 1' | tail -n 1)
fi
if [[ -z $KVER ]]; then
	have=$(kernels | tr '\n' ' ')
	skip "no kernel matching '$want' in /boot (have: ${have:-none}; e.g. apt-get install linux-image-amd64)"
fi
VMLINUZ=/boot/vmlinuz-$KVER
MODDIR=/lib/modules/$KVER
[[ -r $VMLINUZ ]] || skip "$VMLINUZ is not readable"
[[ -r $MODDIR/modules.dep ]] || skip "$MODDIR/modules.dep missing: the modules of $KVER are not installed"

# Modules the guest needs before it can mount the host, with their dependencies, in load order.
# Whatever the kernel has built in (6.12 builds virtio in) is left out; so are names this kernel
# does not have at all as long as something provides the feature (fscache is part of netfs in
# 6.12).
REQUIRED_MODULES=(virtio_pci 9pnet_virtio 9p)
OPTIONAL_MODULES=(overlay)

module_builtin() {
	[[ -r $MODDIR/modules.builtin ]] && grep -Eq "/$1\.ko$" "$MODDIR/modules.builtin"
}
module_dep_line() {
	awk -v m="$1" '{ n = $1; sub(/:$/, "", n); sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n)
		if (n == m) { print; exit } }' "$MODDIR/modules.dep"
}
declare -A MOD_SEEN=()
MOD_ORDER=() # relative paths (kernel/fs/9p/9p.ko.xz), dependencies first
module_resolve() {
	local name=$1 line path dep
	[[ -n ${MOD_SEEN[$name]:-} ]] && return 0
	MOD_SEEN[$name]=1
	module_builtin "$name" && return 0
	line=$(module_dep_line "$name")
	[[ -n $line ]] || return 1
	path=${line%%:*}
	for dep in ${line#*:}; do
		dep=${dep##*/}
		dep=${dep%%.ko*}
		module_resolve "$dep" || return 1
	done
	MOD_ORDER+=("$path")
}
for m in "${REQUIRED_MODULES[@]}"; do
	module_resolve "$m" ||
		skip "kernel $KVER has no module $m (nor is it built in); the guest cannot mount the host over 9p"
done
MOD_REQUIRED_COUNT=${#MOD_ORDER[@]}
for m in "${OPTIONAL_MODULES[@]}"; do
	module_resolve "$m" || true
done
for p in "${MOD_ORDER[@]}"; do
	[[ -r $MODDIR/$p ]] || skip "$MODDIR/$p is missing or unreadable"
	case $p in
	*.xz) command -v xz >/dev/null || skip "$p is xz-compressed and xz is not installed" ;;
	*.zst) command -v zstd >/dev/null || skip "$p is zstd-compressed and zstd is not installed" ;;
	esac
done
if [[ $opt_systemd = 1 && ! -x /lib/systemd/systemd ]]; then
	skip "--systemd needs systemd on this machine (apt-get install systemd)"
fi
if [[ ${#opt_overlays[@]} -gt 0 && -z ${MOD_SEEN[overlay]:-} ]]; then
	skip "--overlay needs overlayfs, which kernel $KVER does not have"
fi

# ---------------------------------------------------------------------------------------------
# The guest's /init (busybox sh). It reads the per-run part, /tg/run.conf and /tg/cmd.sh, from a
# second small cpio archive appended to the cached one.
# ---------------------------------------------------------------------------------------------
write_init() {
	cat <<'INIT'
#!/bin/sh
# PID 1 of the tmpguard test VM (written by tests/vm/run-in-vm.sh; do not edit here).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
. /tg/run.conf

# Say why on the console (the host prints it) and stop; no exit marker means "VM failed".
fail() {
	echo "tmpguard-vm: error: $*"
	poweroff -f
	sleep 60
}
must() {
	"$@" || fail "$* failed"
}

echo "tmpguard-vm: init started at $(cut -d' ' -f1 /proc/uptime) s"
while read -r mod; do
	must insmod "/lib/modules/$mod"
done </etc/modules.required

# The host's root. cache=loose: the host side is read-only for the guest and changes there
# during a run are not expected, so the guest may keep pages and metadata (exec of large
# binaries and python imports are several times faster than with cache=none).
must mount -t 9p -o "trans=virtio,version=9p2000.L,ro,cache=$TG_VM_9P_CACHE,msize=$TG_VM_MSIZE" \
	hostroot /host

H=/host
must mount -t proc proc $H/proc
must mount -t sysfs sysfs $H/sys
must mount -t devtmpfs devtmpfs $H/dev
mkdir -p $H/dev/pts $H/dev/shm
must mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $H/dev/pts
must mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $H/dev/shm
must mount -t tracefs tracefs $H/sys/kernel/tracing
must mount -t bpf -o mode=700 bpf $H/sys/fs/bpf
must mount -t securityfs securityfs $H/sys/kernel/security
must mount -t cgroup2 -o nsdelegate cgroup2 $H/sys/fs/cgroup
mount -t debugfs debugfs $H/sys/kernel/debug 2>/dev/null
# Where tests write: fresh tmpfs, unless --overlay asked for a writable copy of the host's.
scratch() {
	grep -qxF "$1" /tg/overlays && return 0
	must mount -t tmpfs -o "mode=$2$3" tmpfs "$H$1"
}
# --expose: hold on to the host's directories before the scratch tmpfs hides them.
if [ -s /tg/exposes ]; then
	i=0
	while read -r dir; do
		i=$((i + 1))
		mkdir -p /keep/$i
		must mount -o bind,ro "$H$dir" /keep/$i
	done </tg/exposes
fi
scratch /tmp 1777
scratch /var/tmp 1777
scratch /root 0700
scratch /var/lib 0755
scratch /run 0755 ,nosuid,nodev

if [ -s /tg/exposes ]; then
	i=0
	while read -r dir; do
		i=$((i + 1))
		mkdir -p "$H$dir"
		must mount -o bind /keep/$i "$H$dir"
	done </tg/exposes
fi

# Writable copies of host directories (--overlay): overlayfs with a tmpfs upper layer.
if [ -s /tg/overlays ]; then
	must insmod /lib/modules/overlay.ko
	must mount -t tmpfs -o mode=0700 tmpfs /ovl
	i=0
	while read -r dir; do
		i=$((i + 1))
		mkdir -p /ovl/$i/upper /ovl/$i/work
		# The upper directory gives the merged root its owner and mode: copy the host's.
		chown "$(stat -c %u:%g "$H$dir")" /ovl/$i/upper
		chmod "$(stat -c %a "$H$dir")" /ovl/$i/upper
		must mount -t overlay -o "lowerdir=$H$dir,upperdir=/ovl/$i/upper,workdir=/ovl/$i/work" \
			overlay "$H$dir"
	done </tg/overlays
fi
mkdir -p -m 1777 $H/run/lock
must mkdir -p -m 0700 $H/run/tmpguard-vm

hostname tmpguard-vm
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

# stdout and stderr of the command travel on their own serial ports, raw (byte for byte); the
# command itself writes into pipes, as it would under a test harness on the host.
stty -F /dev/ttyS1 raw -echo || fail "no second serial port"
stty -F /dev/ttyS2 raw -echo || fail "no third serial port"
# --systemd: systemd becomes PID 1 of the prepared root and runs the command as a service whose
# stdout and stderr are the serial ports; the service reports the status on the console and
# powers the VM off. Nothing of the initramfs is needed any more (switch_root empties it).
if [ "$TG_VM_SYSTEMD" = 1 ]; then
	cp /tg/cmd.sh $H/run/tmpguard-vm/cmd.sh
	mkdir -p $H/run/systemd/system
	cat >$H/run/tmpguard-vm/service.sh <<EOF
#!/bin/sh
echo "$TG_VM_TOKEN begin at \$(cut -d' ' -f1 /proc/uptime) s" >/dev/ttyS0
/usr/bin/env -i /bin/sh /run/tmpguard-vm/cmd.sh </dev/null >/dev/ttyS1 2>/dev/ttyS2
rc=\$?
echo "$TG_VM_TOKEN command ended at \$(cut -d' ' -f1 /proc/uptime) s" >/dev/ttyS0
echo "$TG_VM_TOKEN exit=\$rc" >/dev/ttyS0
sleep 0.5
exec /bin/systemctl poweroff --force --force
EOF
	cat >$H/run/systemd/system/tmpguard-vm.service <<EOF
[Unit]
Description=the command run-in-vm.sh was given
After=basic.target
[Service]
ExecStart=/bin/sh /run/tmpguard-vm/service.sh
StandardInput=null
StandardOutput=null
EOF
	cat >$H/run/systemd/system/tmpguard-vm.target <<EOF
[Unit]
Description=run-in-vm.sh's command under systemd
Requires=basic.target tmpguard-vm.service
After=basic.target
EOF
	# Units of the host that only slow the boot down or reach out of the VM.
	for u in systemd-timesyncd.service systemd-pstore.service systemd-firstboot.service \
		systemd-machine-id-commit.service systemd-random-seed.service ldconfig.service \
		apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer \
		dpkg-db-backup.timer podman-auto-update.timer getty@tty1.service \
		serial-getty@ttyS0.service; do
		ln -sf /dev/null $H/run/systemd/system/$u
	done
	echo "tmpguard-vm: starting systemd at $(cut -d' ' -f1 /proc/uptime) s"
	exec switch_root $H /lib/systemd/systemd --unit=tmpguard-vm.target --show-status=false \
		--log-level=notice
fi
mkfifo /tg/stdout /tg/stderr
cat /tg/stdout >/dev/ttyS1 &
cat_out=$!
cat /tg/stderr >/dev/ttyS2 &
cat_err=$!
# Hold both FIFOs open until the command is done, so that the relays see end of file only then.
exec 3>/tg/stdout 4>/tg/stderr

if [ "$TG_VM_PROBE" = 1 ]; then
	lsm=$(cat $H/sys/kernel/security/lsm 2>/dev/null)
	case ",$lsm," in *,bpf,*) bpf=active ;; *) bpf="NOT active" ;; esac
	if [ -e /sys/kernel/btf/vmlinux ]; then
		btf="/sys/kernel/btf/vmlinux present ($(wc -c </sys/kernel/btf/vmlinux) bytes)"
	else
		btf="/sys/kernel/btf/vmlinux MISSING"
	fi
	{
		echo "tmpguard-vm: kernel $(uname -r), $(nproc) CPUs, $(($(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024)) MiB"
		echo "tmpguard-vm: lsm $lsm (bpf LSM $bpf)"
		echo "tmpguard-vm: btf $btf"
		echo "tmpguard-vm: booted to the command in $(cut -d' ' -f1 /proc/uptime) s (guest clock)"
	} >&4
fi

cp /tg/cmd.sh $H/run/tmpguard-vm/cmd.sh
echo "$TG_VM_TOKEN begin at $(cut -d' ' -f1 /proc/uptime) s"
# In the background: a shell reports a foreground child killed by a signal ("Killed") on the
# stderr it gave that child, which would add a line the command never wrote.
chroot $H /usr/bin/env -i /bin/sh /run/tmpguard-vm/cmd.sh </dev/null >&3 2>&4 3>&- 4>&- &
wait $!
rc=$?
exec 3>&- 4>&-
echo "$TG_VM_TOKEN command ended at $(cut -d' ' -f1 /proc/uptime) s"

# The relays end when every writer is gone; a daemon the command left behind may keep its
# stdout open, so wait at most 5 s. The last close of a tty waits until the UART has sent
# everything, so what the command wrote has reached the host when the relays are gone.
(sleep 5; kill $cat_out $cat_err 2>/dev/null) &
watchdog=$!
wait $cat_out
wait $cat_err
kill $watchdog 2>/dev/null
echo "$TG_VM_TOKEN exit=$rc"
poweroff -f
sleep 60
INIT
}

# ---------------------------------------------------------------------------------------------
# Cached part of the initramfs: busybox, modules, /init. Rebuilt when any input changes.
# ---------------------------------------------------------------------------------------------
CACHE_ROOT=${TG_VM_CACHE:-/var/cache/tmpguard-vm}
CACHE=$CACHE_ROOT/$KVER
mkdir -p "$CACHE" 2>/dev/null ||
	usage_error "cannot create the cache directory $CACHE (set TG_VM_CACHE to a writable directory)"

inputs_hash() {
	{
		echo "format $CACHE_FORMAT kernel $KVER required $MOD_REQUIRED_COUNT"
		sha256sum "$SELF" "$BUSYBOX"
		local p
		for p in "${MOD_ORDER[@]}"; do
			stat -L -c '%n %s %Y' "$MODDIR/$p"
		done
	} | sha256sum | cut -d' ' -f1
}

# A module's name inside the initramfs: its own name, decompressed.
module_target() {
	local b=${1##*/}
	echo "${b%%.ko*}.ko"
}

build_base() {
	local out=$1 root
	root=$(mktemp -d "$CACHE/build.XXXXXX")
	mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,host,ovl,tg,lib/modules}
	cp "$BUSYBOX" "$root/bin/busybox"
	local a
	for a in $("$BUSYBOX" --list); do
		[[ $a == busybox ]] || ln -s busybox "$root/bin/$a"
	done
	local i=0 p target
	: >"$root/etc/modules.required"
	for p in "${MOD_ORDER[@]}"; do
		target=$(module_target "$p")
		case $p in
		*.xz) xz -dc "$MODDIR/$p" >"$root/lib/modules/$target" ;;
		*.zst) zstd -qdc "$MODDIR/$p" >"$root/lib/modules/$target" ;;
		*.gz) gzip -dc "$MODDIR/$p" >"$root/lib/modules/$target" ;;
		*) cp "$MODDIR/$p" "$root/lib/modules/$target" ;;
		esac
		i=$((i + 1))
		[[ $i -le $MOD_REQUIRED_COUNT ]] && echo "$target" >>"$root/etc/modules.required"
	done
	write_init >"$root/init"
	chmod 0755 "$root/init"
	chmod 1777 "$root/tmp"
	(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | make_cpio) |
		gzip -n -6 >"$out.tmp"
	mv -f "$out.tmp" "$out"
	rm -rf "$root"
}

# The uncompressed kernel, booted through its PVH entry point: QEMU loads the ELF itself, so the
# guest skips the real-mode setup and the decompressor. Under TCG that halves the boot of an
# xz-compressed kernel (Debian's 6.1: 5.9 s -> 2.7 s; zstd 6.12: 3.6 s -> 2.7 s). Found and
# unpacked the way the kernel's scripts/extract-vmlinux does it: try each compression's magic.
extract_vmlinux() {
	local out=$1 magic tool pos
	for magic in xz gzip zstd; do
		case $magic in
		xz) tool="xz -dcq"; pos=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$VMLINUZ" | head -n 3) ;;
		gzip) tool="gzip -dcq"; pos=$(LC_ALL=C grep -abo $'\x1f\x8b\x08' "$VMLINUZ" | head -n 3) ;;
		zstd) tool="zstd -dcq"; pos=$(LC_ALL=C grep -abo $'\x28\xb5\x2f\xfd' "$VMLINUZ" | head -n 3) ;;
		esac
		command -v "${tool%% *}" >/dev/null || continue
		for p in $pos; do
			p=${p%%:*}
			# Trailing data after the stream makes the tools complain; the ELF check decides.
			tail -c +$((p + 1)) "$VMLINUZ" | $tool >"$out.tmp" 2>/dev/null || true
			if [[ $(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n') == 7f454c46 &&
				$(stat -c %s "$out.tmp") -gt 1000000 ]]; then
				mv -f "$out.tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	return 1
}

BASE=$CACHE/base.cpio.gz
STAMP=$CACHE/base.inputs
hash=$(inputs_hash)
exec 9>"$CACHE/lock"
flock 9
if [[ $opt_rebuild = 1 || ! -s $BASE || ! -s $STAMP || $(<"$STAMP") != "$hash" ]]; then
	[[ $opt_verbose = 1 ]] && echo "$PROG: building the initramfs for $KVER in $CACHE" >&2
	build_base "$BASE"
	echo "$hash" >"$STAMP"
fi
KERNEL_IMAGE=$VMLINUZ
if [[ ${TG_VM_PVH:-1} != 0 ]] && grep -qx 'CONFIG_PVH=y' "/boot/config-$KVER" 2>/dev/null; then
	vstamp="$(stat -L -c '%s %Y' "$VMLINUZ") $CACHE_FORMAT"
	if [[ $opt_rebuild = 1 || ! -s $CACHE/vmlinux || $(cat "$CACHE/vmlinux.inputs" 2>/dev/null) != "$vstamp" ]]; then
		rm -f "$CACHE/vmlinux" "$CACHE/vmlinux.inputs"
		if extract_vmlinux "$CACHE/vmlinux"; then
			echo "$vstamp" >"$CACHE/vmlinux.inputs"
		else
			: >"$CACHE/vmlinux" # tried; boot the bzImage
			echo "$vstamp" >"$CACHE/vmlinux.inputs"
		fi
	fi
	[[ -s $CACHE/vmlinux ]] && KERNEL_IMAGE=$CACHE/vmlinux
fi
flock -u 9
exec 9>&-

# ---------------------------------------------------------------------------------------------
# Per-run part: the command, its cwd and environment, the marker token.
# ---------------------------------------------------------------------------------------------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/tmpguard-vm.XXXXXX")
qemu_pid=
relay_pids=()
# shellcheck disable=SC2317 # called from the traps
cleanup() {
	[[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null
	local p
	for p in "${relay_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'echo "$PROG: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

TOKEN=TGVM-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$RUN/cpio/tg"
{
	echo "TG_VM_TOKEN=$TOKEN"
	echo "TG_VM_PROBE=$opt_probe"
	echo "TG_VM_SYSTEMD=$opt_systemd"
	# Largest msize the virtio transport takes in every kernel we boot (6.1 caps it near 512 KiB).
	echo "TG_VM_MSIZE=262144"
	echo "TG_VM_9P_CACHE=${TG_VM_9P_CACHE:-loose}"
} >"$RUN/cpio/tg/run.conf"
: >"$RUN/cpio/tg/overlays"
: >"$RUN/cpio/tg/exposes"
for d in "${exposes[@]}"; do
	echo "$d" >>"$RUN/cpio/tg/exposes"
done
for d in "${opt_overlays[@]}"; do
	echo "$d" >>"$RUN/cpio/tg/overlays"
done

valid_name() { [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; }
{
	echo "# generated by run-in-vm.sh for one run"
	echo "umask 022"
	echo "export HOME=/root USER=root LOGNAME=root"
	while IFS= read -r name; do
		case $name in
		PATH | LANG | LC_* | TZ | TG_* | TMPGUARD*) ;;
		*) continue ;;
		esac
		valid_name "$name" || continue
		echo "export $name=$(shquote "${!name}")"
	done < <(compgen -e)
	# The host's skip log is read-only in the guest: skips go to stderr, relayed (relay_err).
	[[ -n ${TG_SKIP_LOG:-} ]] && echo "export TG_SKIP_LOG=-"
	for e in "${opt_env[@]}"; do
		name=${e%%=*}
		valid_name "$name" || usage_error "--env $e: '$name' is not a variable name"
		if [[ $e == *=* ]]; then
			echo "export $name=$(shquote "${e#*=}")"
		elif [[ -n ${!name+set} ]]; then
			echo "export $name=$(shquote "${!name}")"
		fi
	done
	printf 'cd %s || { printf "run-in-vm: cannot enter %%s in the guest\\n" %s >&2; exit 125; }\n' \
		"$(shquote "$cwd")" "$(shquote "$cwd")"
	printf 'exec'
	for a in "${cmd[@]}"; do
		printf ' %s' "$(shquote "$a")"
	done
	printf '\n'
} >"$RUN/cpio/tg/cmd.sh"

(cd "$RUN/cpio" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | make_cpio) | gzip -n -1 >"$RUN/run.cpio.gz"
# The kernel unpacks concatenated archives one after the other.
cat "$BASE" "$RUN/run.cpio.gz" >"$RUN/initrd"

# ---------------------------------------------------------------------------------------------
# Boot. Serial ports: ttyS0 = console (boot log, markers), ttyS1 = stdout, ttyS2 = stderr, each
# a FIFO on this side with a relay to our own stdout/stderr.
# ---------------------------------------------------------------------------------------------
mkfifo "$RUN/console" "$RUN/out" "$RUN/err"
if [[ $opt_verbose = 1 ]]; then
	tee "$RUN/console.log" <"$RUN/console" >&2 &
else
	cat <"$RUN/console" >"$RUN/console.log" &
fi
relay_pids+=($!)
cat <"$RUN/out" &
relay_pids+=($!)
# The guest's stderr, with the live harness's skip lines (TG_SKIP_LOG=- in the guest, where the
# host's log is read-only) appended to the host's TG_SKIP_LOG: a VM's skips are counted too.
relay_err() {
	local line
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ $line == "tg-skip: "* && -n ${TG_SKIP_LOG:-} ]]; then
			line=${line%$'\r'}
			printf '%s\n' "${line#tg-skip: }" >>"$TG_SKIP_LOG" 2>/dev/null || true
		fi
		printf '%s\n' "$line" >&2
	done
}
relay_err <"$RUN/err" &
relay_pids+=($!)

# A soft lockup or an oops ends the VM at once (panic=-1 and -no-reboot), with the stack on the
# console, instead of holding the test until its timeout.
append="console=ttyS0 quiet panic=-1 softlockup_panic=1 oops=panic 8250.nr_uarts=4 mitigations=off${opt_append}"
start=$(date +%s.%N)
timeout --kill-after=10 "$opt_timeout" "$QEMU" \
	-accel tcg -cpu max -smp "$opt_smp" -m "$opt_mem" \
	-nographic -nodefaults -no-reboot \
	-kernel "$KERNEL_IMAGE" -initrd "$RUN/initrd" -append "$append" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	-serial "file:$RUN/console" -serial "file:$RUN/out" -serial "file:$RUN/err" \
	</dev/null 2>"$RUN/qemu.err" &
qemu_pid=$!
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=
end=$(date +%s.%N)

# Let the relays see end of file: if qemu never opened a FIFO, its reader is still blocked in
# open(); opening it read-write here and closing it again releases it.
for f in console out err; do
	exec 8<>"$RUN/$f"
	exec 8>&-
done
for p in "${relay_pids[@]}"; do
	wait "$p" 2>/dev/null || true
done
relay_pids=()

# Without CRs and the firmware's terminal escapes, so that it reads in any pager.
tr -d '\r' <"$RUN/console.log" | sed -E 's/\x1b(\[[0-9;?]*[A-Za-z]|c)//g' \
	>"$CACHE/last-console.log" 2>/dev/null || true

if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
	echo "$PROG: timed out after $opt_timeout s (kernel $KVER); last lines of the console ($CACHE/last-console.log):" >&2
	tail -n 60 "$CACHE/last-console.log" | sed 's/^/  /' >&2
	exit 124
fi
status=$(tr -d '\r' <"$RUN/console.log" | grep -ao "$TOKEN exit=[0-9]*" | tail -n 1 | cut -d= -f2) || true
if [[ $opt_probe = 1 ]]; then
	printf '%s: wall time %.1f s (kernel %s, qemu TCG, %s CPUs)\n' "$PROG" \
		"$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$KVER" "$opt_smp" >&2
fi
if [[ -z $status ]]; then
	echo "$PROG: the VM (kernel $KVER) ended without reporting the command's exit status (qemu exit $qemu_rc)" >&2
	grep -a 'tmpguard-vm: error' "$CACHE/last-console.log" >&2 || true
	if [[ -s $RUN/qemu.err ]]; then
		sed 's/^/qemu: /' "$RUN/qemu.err" >&2
	fi
	echo "$PROG: last lines of the console ($CACHE/last-console.log):" >&2
	tail -n 60 "$CACHE/last-console.log" | sed 's/^/  /' >&2
	exit 1
fi
exit "$status"
