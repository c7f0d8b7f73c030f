#!/usr/bin/env bash
# ktls-vm.sh [--timeout SECS] -- COMMAND [ARGS...] — run COMMAND on a kernel that has the
# kernel-TLS module: Debian 12's own kernel booted under QEMU (TCG software emulation, no
# KVM needed), with this machine's root filesystem shared in read-only over 9p and the
# project directory shared read-write, so the binaries built here run unchanged in there.
#
#   * Tools (qemu-system-x86_64, static busybox, cpio) come from `scripts/deps.sh vm`: as root
#     they are installed with apt-get, otherwise the apt-get line is printed and we exit 2.
#   * The kernel is the linux-image-6.1.*-amd64 package that linux-image-amd64 depends on,
#     fetched with `apt-get download` and unpacked once into build/ktls-vm/<package>_<version>/
#     together with a small initramfs (busybox, the virtio/9p/crypto/tls modules, an /init).
#     Later runs re-use it.
#   * Inside the VM, /init loads the modules (tls last), prints a kTLS probe line, mounts the
#     host root read-only with tmpfs on /tmp /run /var/tmp /root and the project read-write
#     at its own path, brings lo up (the VM has no other NIC), chroots and runs COMMAND from
#     the project directory with PATH, HOME=/root, TMPDIR=/tmp and SPLICELOG_KTLS_REQUIRED=1,
#     then prints "KTLS-VM-EXIT=<status>" and powers off.
#
# The console is streamed to stdout (SeaBIOS's terminal escapes dropped) and kept in
# build/ktls-vm/last-console.log. Exit status: COMMAND's, 124 when the VM outlived the
# timeout (default 1200 s; qemu is killed), 125 when the VM ended without the exit marker,
# 2 when tools are missing and we are not root. COMMAND is written to a script file in the
# project share, never passed on the kernel command line.
set -euo pipefail

usage() {
    echo "usage: $0 [--timeout SECS] -- COMMAND [ARGS...]" >&2
    exit 2
}

timeout_s=1200
while [ $# -gt 0 ]; do
    case "$1" in
    --timeout)
        [ $# -ge 2 ] || usage
        timeout_s="$2"
        shift 2
        ;;
    --timeout=*)
        timeout_s="${1#--timeout=}"
        shift
        ;;
    --)
        shift
        break
        ;;
    *) usage ;;
    esac
done
[ $# -gt 0 ] || usage
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || usage

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/build/ktls-vm"
say() { printf 'ktls-vm: %s\n' "$*" >&2; }
die() {
    say "error: $*"
    exit 125
}

# ---- 1. tools --------------------------------------------------------------------------------
if ! "$root/scripts/deps.sh" vm; then
    say "missing tools (see above); as root: apt-get install -y qemu-system-x86 busybox-static cpio"
    exit 2
fi
for c in apt-cache apt-get dpkg-deb; do
    command -v "$c" >/dev/null 2>&1 || die "$c not found (this script needs Debian's apt)"
done

# ---- 2. the kernel package -------------------------------------------------------------------
# The versioned image package the metapackage depends on, and that package's version.
resolve_kpkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.[0-9.-]+-amd64$/ { print $2; exit }'
}
kpkg="$(resolve_kpkg)"
if [ -z "$kpkg" ] && [ "$(id -u)" -eq 0 ]; then
    # a fresh machine may have no package lists yet
    apt-get update -q >&2 || true
    kpkg="$(resolve_kpkg)"
fi
kver_pkg=""
[ -n "$kpkg" ] && kver_pkg="$(apt-cache policy "$kpkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')"

mkdir -p "$cache"
# One setup at a time per checkout (download, unpack, initramfs); the VMs themselves may
# run side by side.
exec 9>"$cache/.lock"
flock 9
kdir=""
if [ -n "$kpkg" ] && [ -n "$kver_pkg" ] && [ "$kver_pkg" != "(none)" ]; then
    kdir="$cache/${kpkg}_${kver_pkg}"
else
    # Offline or no apt lists: fall back to a kernel unpacked by an earlier run.
    kdir="$(find "$cache" -maxdepth 2 -path '*/linux-image-6.1.*/kernel.done' | sort -V | tail -n 1)"
    kdir="${kdir%/kernel.done}"
    [ -n "$kdir" ] || die "cannot resolve linux-image-amd64's kernel package (run apt-get update)"
    say "apt cannot resolve linux-image-amd64; using the cached $(basename "$kdir")"
fi

if [ ! -f "$kdir/kernel.done" ]; then
    rm -rf "$kdir"
    mkdir -p "$kdir/dl"
    say "downloading $kpkg $kver_pkg"
    # -o APT::Sandbox::User=root: the cache dir may not be readable by _apt.
    (cd "$kdir/dl" && apt-get download -q -o APT::Sandbox::User=root "$kpkg=$kver_pkg" >&2) ||
        die "apt-get download $kpkg=$kver_pkg failed"
    deb="$(find "$kdir/dl" -maxdepth 1 -name '*.deb' | head -n 1)"
    [ -n "$deb" ] || die "apt-get download left no .deb"
    say "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$kdir/x"
    mv "$deb" "$kdir/"
    rmdir "$kdir/dl"
    touch "$kdir/kernel.done"
fi

# Modules wanted in the VM, in load order: NAME CONFIG_SYMBOL required|optional. Their
# dependencies (virtio, virtio_ring, 9pnet, netfs, fscache, ...) come from modules.dep.
# The crypto ones are what the tls module asks for when OpenSSL installs a key (gcm(aes),
# ccm(aes), chacha20-poly1305); they are loaded up front because nothing in the VM would
# run modprobe for them. tls is last.
wanted=(
    "virtio_pci CONFIG_VIRTIO_PCI required"
    "virtio-rng CONFIG_HW_RANDOM_VIRTIO optional"
    "9pnet_virtio CONFIG_NET_9P_VIRTIO required"
    "9p CONFIG_9P_FS required"
    "ctr CONFIG_CRYPTO_CTR optional"
    "ghash-generic CONFIG_CRYPTO_GHASH optional"
    "gcm CONFIG_CRYPTO_GCM optional"
    "ccm CONFIG_CRYPTO_CCM optional"
    "aesni-intel CONFIG_CRYPTO_AES_NI_INTEL optional"
    "ghash-clmulni-intel CONFIG_CRYPTO_GHASH_CLMUL_NI_INTEL optional"
    "chacha_generic CONFIG_CRYPTO_CHACHA20 optional"
    "poly1305_generic CONFIG_CRYPTO_POLY1305 optional"
    "chacha20poly1305 CONFIG_CRYPTO_CHACHA20POLY1305 optional"
    "tls CONFIG_TLS required"
)

# The /init of the initramfs (busybox sh). Quoted heredoc: nothing expands here.
read -r -d '' init_script <<'INIT' || true
#!/bin/busybox sh
# /init of scripts/ktls-vm.sh's initramfs: load modules, share the host in, run the command.
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin /newroot /proj
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
say() { echo "ktls-vm(guest): $*"; }
halt() {
    say "$*"
    sync
    poweroff -f
    reboot -f
}
kver="$(cat /kver)"
while read -r need path; do
    [ -n "$path" ] || continue
    if ! out="$(insmod "/lib/modules/$kver/$path" 2>&1)"; then
        case "$out" in *"File exists"*) continue ;; esac
        [ "$need" = required ] && halt "insmod $path failed: $out"
        say "optional module ${path##*/} not loaded: $out"
    fi
done </modules.load
if grep -qw '^tls' /proc/modules && [ -e /proc/net/tls_stat ]; then
    say "kTLS probe: tls module loaded ($(grep -w '^tls' /proc/modules | cut -d' ' -f1-3)); kernel $(uname -r)"
else
    say "kTLS probe: tls module NOT loaded; kernel $(uname -r)"
fi
run=""
for arg in $(cat /proc/cmdline); do
    case "$arg" in ktlsvm.run=*) run="${arg#ktlsvm.run=}" ;; esac
done
[ -n "$run" ] || halt "no ktlsvm.run= on the kernel command line"
o9p="trans=virtio,version=9p2000.L,msize=262144"
mount -t 9p -o "$o9p,ro,cache=loose" hostroot /newroot || halt "cannot mount the host root"
mount -t 9p -o "$o9p,cache=mmap" proj /proj || halt "cannot mount the project share"
rd="/proj/build/ktls-vm/$run"
[ -f "$rd/projdir" ] && [ -f "$rd/cmd.sh" ] || halt "run directory $rd is incomplete"
projdir="$(cat "$rd/projdir")"
for d in /tmp /run /var/tmp /root; do
    mount -t tmpfs -o mode=1777 tmpfs "/newroot$d" || halt "cannot mount tmpfs on $d"
done
# after the tmpfs mounts: a project under /tmp (a CI clone) would be hidden by them; its
# mount point is made inside the tmpfs then
mkdir -p "/newroot$projdir" 2>/dev/null
[ -d "/newroot$projdir" ] || halt "project directory $projdir is not in the host root"
mount --move /proj "/newroot$projdir" || halt "cannot mount the project at $projdir"
chmod 700 /newroot/root
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount --rbind /dev /newroot/dev || halt "cannot bind /dev"
mount -t proc proc /newroot/proc || halt "cannot mount /proc in the root"
mount --rbind /sys /newroot/sys || halt "cannot bind /sys"
ip link set lo up || halt "cannot bring lo up"
say "running the command in $projdir"
chroot /newroot /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TMPDIR=/tmp TERM=dumb LANG=C.UTF-8 SPLICELOG_KTLS_REQUIRED=1 \
    /bin/bash "$projdir/build/ktls-vm/$run/cmd.sh" </dev/null
rc=$?
sync
echo "KTLS-VM-EXIT=$rc"
sync
poweroff -f
reboot -f
INIT

# The initramfs is rebuilt when this script's /init or module list changes; the unpacked
# package is only needed for that and is removed afterwards (the .deb stays).
stamp="$(printf '%s\n' "$init_script" "${wanted[@]}" | sha256sum | cut -c1-16)"
initrd="$kdir/initrd-$stamp.gz"
if [ ! -f "$initrd" ] || [ ! -f "$kdir/vmlinuz" ]; then
    if [ ! -d "$kdir/x/boot" ]; then
        deb="$(find "$kdir" -maxdepth 1 -name '*.deb' | head -n 1)"
        [ -n "$deb" ] || die "$kdir has no .deb; remove the directory and retry"
        dpkg-deb -x "$deb" "$kdir/x"
    fi
    vmlinuz="$(find "$kdir/x/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)"
    kconfig="$(find "$kdir/x/boot" -maxdepth 1 -name 'config-*' | head -n 1)"
    if [ -z "$vmlinuz" ] || [ -z "$kconfig" ]; then die "no vmlinuz/config in $kdir/x/boot"; fi
    kver="${vmlinuz##*/vmlinuz-}"
    moddir="$kdir/x/lib/modules/$kver"
    [ -d "$moddir/kernel" ] || die "no modules for $kver in the package"
    [ -f "$moddir/modules.dep" ] || busybox depmod -b "$kdir/x" "$kver" ||
        die "busybox depmod failed"
    # modname PATH — the module name of a .ko path, '-' and '_' being the same to the kernel.
    modname() {
        local b="${1##*/}"
        b="${b%%.ko*}"
        echo "${b//-/_}"
    }
    declare -A dep_of=() path_of=() loaded=()
    while IFS= read -r line; do
        p="${line%%:*}"
        n="$(modname "$p")"
        path_of[$n]="$p"
        dep_of[$n]="${line#*:}"
    done <"$moddir/modules.dep"
    order=()
    # visit NAME — depth first: every dependency before the module itself.
    visit() {
        local n="$1" d
        [ -n "${loaded[$n]:-}" ] && return 0
        loaded[$n]=1
        for d in ${dep_of[$n]}; do
            visit "$(modname "$d")"
        done
        order+=("${path_of[$n]}")
    }
    load=()
    summary=()
    for w in "${wanted[@]}"; do
        read -r name sym need <<<"$w"
        n="$(modname "$name")"
        val="$(sed -n "s/^$sym=//p" "$kconfig")"
        summary+=("$name=${val:-n}")
        case "$val" in
        y) continue ;; # built in
        m) ;;
        *)
            [ "$need" = required ] && die "$kver has no $name ($sym is not set)"
            continue
            ;;
        esac
        [ -n "${path_of[$n]:-}" ] || die "$name is =m in $kconfig but not in modules.dep"
        order=()
        visit "$n"
        for p in "${order[@]}"; do load+=("$need $p"); done
    done
    for sym in VIRTIO VIRTIO_CONSOLE NET_9P NETFS_SUPPORT FSCACHE; do
        summary+=("$sym=$(sed -n "s/^CONFIG_$sym=//p" "$kconfig")")
    done
    say "kernel $kver: ${summary[*]}"

    stage="$(mktemp -d "$kdir/stage.XXXXXX")"
    trap 'rm -rf "$stage"' EXIT
    mkdir -p "$stage/bin" "$stage/lib/modules/$kver"
    cp /bin/busybox "$stage/bin/busybox"
    printf '%s\n' "$init_script" >"$stage/init"
    chmod 755 "$stage/init"
    echo "$kver" >"$stage/kver"
    : >"$stage/modules.load"
    for l in "${load[@]}"; do
        read -r need p <<<"$l"
        dst="$stage/lib/modules/$kver/${p%.xz}"
        dst="${dst%.zst}"
        mkdir -p "$(dirname "$dst")"
        case "$p" in # busybox insmod reads plain .ko files only
        *.ko.xz) xz -dc "$moddir/$p" >"$dst" ;;
        *.ko.zst) zstd -qdc "$moddir/$p" >"$dst" ;;
        *) cp "$moddir/$p" "$dst" ;;
        esac
        echo "$need ${dst#"$stage/lib/modules/$kver/"}" >>"$stage/modules.load"
    done
    say "modules, in load order: $(awk '{ n = $2; sub(/.*\//, "", n); printf "%s ", n }' "$stage/modules.load")"
    (cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -6) >"$initrd.tmp"
    rm -rf "$stage"
    trap - EXIT
    cp "$vmlinuz" "$kdir/vmlinuz"
    echo "$kver" >"$kdir/kver"
    rm -f "$kdir"/initrd-*.gz
    mv "$initrd.tmp" "$initrd"
    rm -rf "$kdir/x"
fi
kver="$(cat "$kdir/kver")"

flock -u 9
exec 9>&-

# ---- 3. this run's command -------------------------------------------------------------------
rundir="$(mktemp -d "$cache/run.XXXXXX")"
trap 'rm -rf "$rundir"' EXIT
run="${rundir##*/}"
printf '%s\n' "$root" >"$rundir/projdir"
{
    echo "# written by scripts/ktls-vm.sh: run from the project directory"
    printf 'cd %q || exit 126\n' "$root"
    printf 'exec'
    printf ' %q' "$@"
    printf '\n'
} >"$rundir/cmd.sh"

# ---- 4. boot ---------------------------------------------------------------------------------
log="$rundir/console.log"
say "booting $kver under QEMU (TCG, 2 vCPUs, 2 GiB), timeout ${timeout_s}s: $*"
start=$(date +%s)
set +e
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
    -accel tcg -cpu max -m 2G -smp 2 -nographic -no-reboot -nic none \
    -kernel "$kdir/vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 quiet panic=-1 ktlsvm.run=$run" \
    -device virtio-rng-pci \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$root,mount_tag=proj,security_model=none,multidevs=remap" \
    </dev/null 2>&1 | tee "$log" | sed -u 's/\r$//; s/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g'
rcs=("${PIPESTATUS[@]}")
cp "$log" "$cache/last-console.log" 2>/dev/null || true
set -e
qrc="${rcs[0]}"
say "VM ran $(($(date +%s) - start)) s"
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
    say "timed out after ${timeout_s}s; qemu killed"
    exit 124
fi
# The last marker wins (/init prints it after the command's own output); a kernel message
# may share its line on the serial console.
code="$(tr -d '\r' <"$log" | sed -n 's/^.*KTLS-VM-EXIT=\([0-9][0-9]*\).*$/\1/p' | tail -n 1)"
if [ -z "$code" ]; then
    say "the VM ended (qemu status $qrc) without printing KTLS-VM-EXIT"
    exit 125
fi
say "command exited with status $code"
exit "$code"
