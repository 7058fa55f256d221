#!/bin/sh
# /init of the uvio-vm guest (busybox ash, PID 1).  Built into the initramfs by
# tests/vm/uvio-vm; the per-run settings and the command come in through
# fw_cfg (opt/uvio/env, opt/uvio/cmd), so one cached initramfs serves all runs.
#
# Console protocol with the host: the command's stdout/stderr go to the serial
# console unchanged, then the last line is "UVIO-VM-EXIT=<status>" and the
# guest powers off.  Messages of this script start with "uvio-vm-init:".

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

say() { echo "uvio-vm-init: $*"; }
vsay() { [ "${UVIO_VM_VERBOSE:-0}" = 1 ] && echo "uvio-vm-init: $*"; return 0; }

finish() {
    sync
    echo "UVIO-VM-EXIT=$1:${UVIO_VM_NONCE:-}"
    poweroff -f
    sleep 5       # poweroff -f does not return; never let PID 1 exit
    exit "$1"
}

mkdir -p /dev/pts /dev/shm /dev/hugepages /tmp /run /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t hugetlbfs hugetlbfs /dev/hugepages
ln -sf /proc/self/fd /dev/fd 2>/dev/null
ln -sf /proc/self/fd/0 /dev/stdin 2>/dev/null
ln -sf /proc/self/fd/1 /dev/stdout 2>/dev/null
ln -sf /proc/self/fd/2 /dev/stderr 2>/dev/null

# modules: "<class> <path relative to /lib/modules/$(uname -r)>", in load order
KDIR=/lib/modules/$(uname -r)
load_class() {
    while read -r class path; do
        [ "$class" = "$1" ] || continue
        params=
        case "$path" in
            */vfio.ko)
                if [ "${UVIO_VM_IOMMU:-vtd}" = noiommu ]; then
                    params=enable_unsafe_noiommu_mode=1
                    # built by uvio-vm when the kernel lacks CONFIG_VFIO_NOIOMMU
                    [ -f "$KDIR/extra/vfio-noiommu.ko" ] && path=extra/vfio-noiommu.ko
                fi ;;
        esac
        vsay "insmod $path $params"
        # shellcheck disable=SC2086 # params is empty or one word
        insmod "$KDIR/$path" $params || say "insmod $path failed"
    done <"/etc/uvio-vm/modules"
}

load_class early
FWCFG=/sys/firmware/qemu_fw_cfg/by_name/opt/uvio
if [ ! -r "$FWCFG/env/raw" ] || [ ! -r "$FWCFG/cmd/raw" ]; then
    say "no settings from the host in $FWCFG (not started by uvio-vm?)"
    finish 125
fi
# shellcheck disable=SC1091 # written by the host script
. "$FWCFG/env/raw"
[ "${UVIO_VM_VERBOSE:-0}" = 1 ] && say "settings: $(tr '\n' ' ' <"$FWCFG/env/raw")"

# hugepages before anything fragments memory
hp=${UVIO_VM_HUGEPAGES:-64}
echo "$hp" >/proc/sys/vm/nr_hugepages
got=$(cat /proc/sys/vm/nr_hugepages)
[ "$got" = "$hp" ] || say "asked for $hp hugepages, got $got"

load_class core
[ "${UVIO_VM_KDRIVERS:-1}" = 1 ] && load_class kdrv
if [ "${UVIO_VM_IOMMU:-vtd}" = noiommu ] &&
   [ ! -e /sys/module/vfio/parameters/enable_unsafe_noiommu_mode ]; then
    say "WARNING: this guest kernel has no CONFIG_VFIO_NOIOMMU: vfio no-IOMMU mode (/dev/vfio/noiommu-N) is unavailable"
fi
ip link set lo up 2>/dev/null

# Resolve "id=root-port-BDF" pairs (from the host) to the devices' own BDFs.
: >/etc/uvio-vm/devices
UVIO_VM_DEVS=
for pair in ${UVIO_VM_PORTS:-}; do
    id=${pair%%=*}
    port=${pair#*=}
    bdf=
    for d in /sys/bus/pci/devices/"$port"/????:??:??.?; do
        [ -e "$d" ] && bdf=${d##*/} && break
    done
    if [ -z "$bdf" ]; then
        say "device $id: nothing found behind root port $port"
        continue
    fi
    echo "$id $bdf" >>/etc/uvio-vm/devices
    UVIO_VM_DEVS="${UVIO_VM_DEVS:+$UVIO_VM_DEVS }$id=$bdf"
    eval "UVIO_VM_BDF_$id=\$bdf"
    export "UVIO_VM_BDF_$id"
done
export UVIO_VM_DEVS UVIO_VM_IOMMU UVIO_VM_HUGEPAGES
vsay "devices: $UVIO_VM_DEVS"

HOME=/root
PATH=/uvio:/bin:/sbin:/usr/bin:/usr/sbin
LD_LIBRARY_PATH=/uvio
export HOME PATH LD_LIBRARY_PATH
unset KDIR FWCFG hp got pair id port bdf d
if [ -d /uvio ]; then cd /uvio || finish 125; else cd /; fi

vsay "running the command"
# The host's boot watchdog waits for this line (and swallows it).
echo "UVIO-VM-UP:${UVIO_VM_NONCE:-}"
# The helpers (vm_bind, ...) are sourced first, on the same line so that the
# shell's line numbers in error messages are the command's own.
sh -c ". /etc/uvio-vm/funcs.sh; $(cat /sys/firmware/qemu_fw_cfg/by_name/opt/uvio/cmd/raw)" sh </dev/null
finish $?
