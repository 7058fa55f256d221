# shellcheck shell=sh disable=SC2086  # $blkio is split into options on purpose
# Guest side of tests/vm/run (busybox ash). Sourced after uvio-vm's funcs.sh
# with these variables set by the host:
#   SCEN      which scenario below to run
#   MAC       the MAC QEMU gave net0          CAP     blk0's capacity (sectors)
#   SERIAL    blk0's serial                   RLBA:RPAT  what the host wrote
#   WLBA:WPAT what the guest writes           COUNT   sectors per READ/WRITE
# Prints one line per check, "CHECK ok|fail|skip NAME[: detail]", and
# "CHECK-END" when the scenario ran to its end. Always exits 0: the host
# counts the lines.

ck_skip() { echo "CHECK skip $1: $2"; }

# ck NAME CMD...: CMD must exit 0.
ck() {
    _n=$1; shift
    _o=$("$@" 2>&1)
    _rc=$?
    if [ "$_rc" = 0 ]; then
        ck_pass "$_n"
    else
        ck_fail "$_n" "exit $_rc: $(printf '%s' "$_o" | tail -n 4 | tr '\n' '|')"
    fi
}

# ck_err NAME TEXT CMD...: CMD must exit 1 with exactly one line on stderr,
# holding TEXT.
ck_err() {
    _n=$1 _t=$2; shift 2
    _e=$("$@" 2>&1 >/dev/null)
    _rc=$?
    _lines=$(printf '%s\n' "$_e" | grep -c .)
    if [ "$_rc" = 1 ] && [ "$_lines" = 1 ] && printf '%s' "$_e" | grep -qF -- "$_t"; then
        ck_pass "$_n"
    else
        ck_fail "$_n" "exit $_rc, $_lines stderr lines: $(printf '%s' "$_e" | tr '\n' '|') (wanted: $_t)"
    fi
}

blkio="--capacity $CAP --serial $SERIAL --read $RLBA:$RPAT --write $WLBA:$WPAT --count $COUNT"

# status_has NAME BDF PATTERN: uvio-devbind --status's line for BDF matches
# the extended regexp PATTERN (anchored at its end).
status_has() {
    _l=$(uvio-devbind --status 2>&1 | grep "^$2 ")
    if printf '%s\n' "$_l" | grep -Eq -- "$3\$"; then
        ck_pass "$1"
    else
        ck_fail "$1" "line '$_l' does not end with /$3/"
    fi
}

# meminfo_is NAME KEY VALUE: /proc/meminfo says KEY: VALUE.
meminfo_is() {
    _v=$(sed -n "s/^$2: *\([0-9]*\).*/\1/p" /proc/meminfo)
    if [ "$_v" = "$3" ]; then ck_pass "$1"; else ck_fail "$1" "$2 is '$_v', wanted $3"; fi
}

netdev_of() { for _d in /sys/bus/pci/devices/"$1"/virtio*/net/*; do [ -e "$_d" ] && echo "${_d##*/}"; done; }

# hold_device BDF: start a uvio-vmtest that keeps BDF open for a while, in
# the background ($holder), and wait until it has started the device.
hold_device() {
    uvio-vmtest --bdf "$1" --hold 8 >/tmp/holder.out 2>&1 &
    holder=$!
    _i=0
    while [ $_i -lt 120 ]; do
        grep -q '^started' /tmp/holder.out && return 0
        kill -0 "$holder" 2>/dev/null || return 1
        sleep 0.25
        _i=$((_i + 1))
    done
    return 1
}

# VFIO type1 behind intel-iommu (39-bit address width: IOVA = PA), a
# transitional blk and a modern net, and every negative check that needs
# no special machine.
scen_vfio_type1() {
    B=$(vm_bdf blk0) N=$(vm_bdf net0)
    ck_err "open: still bound to the kernel driver" \
        "$B: bound to kernel driver virtio-pci; run 'uvio-devbind --bind vfio-pci $B' first" \
        uvio-vmtest --bdf "$B"
    ck_err "open: no such device" \
        "0000:00:1f.7: no such PCI device (see 'uvio-devbind --status')" \
        uvio-vmtest --bdf 0000:00:1f.7
    ck_err "open: not virtio (q35 host bridge)" \
        "0000:00:00.0: not a virtio device (vendor 8086 device 29c0)" \
        uvio-vmtest --bdf 0000:00:00.0
    ck_err "devbind: refuses a non-virtio device" "not a virtio device" \
        uvio-devbind --bind vfio-pci 0000:00:00.0
    nd=$(netdev_of "$N")
    status_has "devbind: --status names the disk, not *Active*" "$B" " vda"
    status_has "devbind: --status names the netdev, down: not *Active*" "$N" " $nd"
    # blk in use: as swap
    if mkswap /dev/vda >/dev/null 2>&1 && swapon /dev/vda 2>/dev/null; then
        status_has "devbind: --status marks a swap disk *Active*" "$B" " vda \*Active\*"
        ck_err "devbind: refuses a disk used as swap" \
            "$B: in use: /dev/vda is used as swap; stop using it or pass --force" \
            uvio-devbind --bind vfio-pci "$B"
        swapoff /dev/vda
    else
        ck_fail "devbind: refuses a disk used as swap" "mkswap/swapon /dev/vda failed"
    fi
    # net in use: up with an address
    ip link set "$nd" up && ip addr add 10.99.0.1/24 dev "$nd"
    status_has "devbind: --status marks a configured netdev *Active*" "$N" " $nd \*Active\*"
    ck_err "devbind: refuses a configured netdev" \
        "$N: in use: netdev $nd is up with addresses and routes; stop using it or pass --force" \
        uvio-devbind --bind vfio-pci "$N"
    ck "devbind: --force binds it anyway" uvio-devbind --bind vfio-pci --force "$N"
    ck "devbind: binds blk to vfio-pci" uvio-devbind --bind vfio-pci "$B"
    ck "devbind: --status shows both on vfio-pci" \
        sh -c "uvio-devbind --status | grep -q '^$B  *blk  *transitional  *vfio-pci' &&
               uvio-devbind --status | grep -q '^$N  *net  *modern  *vfio-pci'"
    ck "blk (transitional, VFIO type1, IOVA PA): config, queues, READ, WRITE" \
        uvio-vmtest --bdf "$B" --expect-driver vfio --expect-iface modern --expect-ring split --expect-iova pa $blkio
    ck "net (modern, VFIO type1): MAC, queues" \
        uvio-vmtest --bdf "$N" --expect-driver vfio --expect-iface modern --mac "$MAC"
    ck "blk with indirect descriptors: READ" \
        uvio-vmtest -q --bdf "$B" --indirect 8 --read "$RLBA:$RPAT" --count "$COUNT"
    # one process at a time
    if hold_device "$B"; then
        ck_err "open: device busy in another process" "device is in use by another process" \
            uvio-vmtest --bdf "$B"
        ck_err "devbind: refuses to unbind a device in use" "is open in process $holder" \
            uvio-devbind --unbind "$B"
        status_has "devbind: --status marks a VFIO device open in a process *Active*" \
            "$B" " - \*Active\*"
    else
        ck_fail "open: device busy in another process" "the holder did not start: $(tr '\n' '|' </tmp/holder.out)"
    fi
    wait "$holder"
    ck "devbind: --unbind gives net back to virtio-pci" \
        sh -c "uvio-devbind --unbind $N && readlink /sys/bus/pci/devices/$N/driver | grep -q 'virtio-pci\$'"
}

# intel-iommu with aw-bits=48: VA IOVAs through the IOMMU for devices with
# ACCESS_PLATFORM (modern-only), packed rings.
scen_vfio_va_packed() {
    B=$(vm_bdf blk0) N=$(vm_bdf net0)
    ck "devbind: bind both to vfio-pci" uvio-devbind --bind vfio-pci "$B" "$N"
    ck "blk (modern, packed, VFIO type1, IOVA VA): config, queues, READ, WRITE" \
        uvio-vmtest --bdf "$B" --expect-driver vfio --expect-iova va --expect-ring packed $blkio
    ck "net (modern, packed, VFIO type1, IOVA VA): MAC, queues" \
        uvio-vmtest --bdf "$N" --expect-driver vfio --expect-iova va --expect-ring packed --mac "$MAC"
}

# Legacy-only devices (disable-modern=on): blk through VFIO (I/O BAR by
# pread/pwrite on the device fd), net through UIO (sysfs resource0).
scen_legacy() {
    B=$(vm_bdf blk0) N=$(vm_bdf net0)
    ck "devbind: --status says legacy" \
        sh -c "uvio-devbind --status | grep -q '^$B  *blk  *legacy '"
    ck "devbind: blk to vfio-pci, net to uio_pci_generic" \
        sh -c "uvio-devbind --bind vfio-pci $B && uvio-devbind --bind uio_pci_generic $N"
    ck "blk (legacy, VFIO type1): config, queues, READ, WRITE" \
        uvio-vmtest --bdf "$B" --expect-driver vfio --expect-iface legacy --expect-iova pa $blkio
    ck "net (legacy, UIO): MAC, queues" \
        uvio-vmtest --bdf "$N" --expect-driver uio --expect-iface legacy --mac "$MAC"
}

# No IOMMU at all: UIO. vfio-pci must refuse (no IOMMU group).
scen_uio() {
    B=$(vm_bdf blk0) N=$(vm_bdf net0)
    ck_err "devbind: vfio-pci without an IOMMU" "$N: no IOMMU group" \
        uvio-devbind --bind vfio-pci "$N"
    if rmmod vfio_pci 2>/dev/null; then
        ck_err "devbind: vfio-pci not loaded" "driver vfio-pci is not loaded; run 'modprobe vfio-pci'" \
            uvio-devbind --bind vfio-pci "$N"
    else
        ck_fail "devbind: vfio-pci not loaded" "rmmod vfio_pci failed"
    fi
    ck "devbind: bind both to uio_pci_generic" uvio-devbind --bind uio_pci_generic "$B" "$N"
    ck "blk (modern, packed, UIO): config, queues, READ, WRITE" \
        uvio-vmtest --bdf "$B" --expect-driver uio --expect-ring packed $blkio
    ck "net (transitional, UIO): MAC, queues" \
        uvio-vmtest --bdf "$N" --expect-driver uio --expect-iface modern --mac "$MAC"
    if hold_device "$N"; then
        ck_err "open (UIO): device busy in another process" "device is in use by another process" \
            uvio-vmtest --bdf "$N"
    else
        ck_fail "open (UIO): device busy in another process" "the holder did not start: $(tr '\n' '|' </tmp/holder.out)"
    fi
    wait "$holder"
}

# VFIO no-IOMMU mode: needs a guest kernel with CONFIG_VFIO_NOIOMMU.
scen_vfio_noiommu() {
    B=$(vm_bdf blk0) N=$(vm_bdf net0)
    if [ ! -e /sys/module/vfio/parameters/enable_unsafe_noiommu_mode ]; then
        ck_skip "VFIO no-IOMMU" "guest kernel $(uname -r) has no CONFIG_VFIO_NOIOMMU"
        return
    fi
    ck "devbind: bind both to vfio-pci (no-IOMMU)" uvio-devbind --bind vfio-pci "$B" "$N"
    ck "blk (VFIO no-IOMMU): config, queues, READ, WRITE" \
        uvio-vmtest --bdf "$B" --expect-driver vfio-noiommu --expect-iova pa $blkio
    ck "net (VFIO no-IOMMU): MAC, queues" \
        uvio-vmtest --bdf "$N" --expect-driver vfio-noiommu --mac "$MAC"
}

# Two virtio-rng behind a PCIe-to-PCI bridge share an IOMMU group.
scen_group() {
    r1='' r2=''
    for b in $(vm_virtio_bdfs); do
        case $b in 0000:??:01.0) r1=$b ;; 0000:??:02.0) r2=$b ;; esac
    done
    if [ -z "$r1" ] || [ -z "$r2" ] || [ "$(vm_group "$r1")" != "$(vm_group "$r2")" ]; then
        ck_fail "group: two devices share a group" "r1=$r1 r2=$r2 groups $(vm_group "$r1")/$(vm_group "$r2")"
        return
    fi
    g=$(vm_group "$r1")
    ck "devbind: bind one function of the group" uvio-devbind --bind vfio-pci "$r1"
    ck_err "open: IOMMU group not viable" \
        "IOMMU group $g is not viable: bind every device in /sys/kernel/iommu_groups/$g/devices to vfio-pci (or unbind them)" \
        uvio-vmtest --bdf "$r1"
    ck "devbind: bind the other one too" uvio-devbind --bind vfio-pci "$r2"
    ck "open: the group is viable now" uvio-vmtest --bdf "$r1"
}

# 1G pages: the guest booted with one (hugepagesz=1G hugepages=1), since
# the kernel rarely finds a free 1G range once it runs.
huge_1g() {
    if [ ! -d /sys/kernel/mm/hugepages/hugepages-1048576kB ]; then
        ck_err "devbind: no 1G pages on this CPU" "no 1G hugepages on this CPU" \
            uvio-devbind --hugepages 1 --pagesize 1G
        return
    fi
    # /dev/hugepages holds the 2M pages: 1G ones get a mount of their own
    ck "devbind: --hugepages 1 --pagesize 1G mounts /dev/hugepages-1G" \
        sh -c "uvio-devbind --hugepages 1 --pagesize 1G | grep -qx '1 1G hugepages reserved, hugetlbfs on /dev/hugepages-1G' &&
               grep -q ' /dev/hugepages-1G hugetlbfs .*pagesize=1024M' /proc/mounts"
    ck "devbind: --show: one 1G page, both mounts" \
        sh -c "uvio-devbind --show >/tmp/show.out &&
               grep -q '^all *1G *1 *1 *1G\$' /tmp/show.out &&
               grep -q '^hugetlbfs on /dev/hugepages-1G (1G pages)\$' /tmp/show.out"
    ck "devbind: --clear --pagesize 1G" uvio-devbind --clear --pagesize 1G
    meminfo_is "devbind: --clear --pagesize 1G in /proc/meminfo" Hugetlb 0
    ck_err "devbind: 8 1G pages do not fit: says how many did" \
        "of 8 1G hugepages could be reserved" uvio-devbind --hugepages 8 --pagesize 1G
    uvio-devbind --clear --pagesize 1G
}

# Booted with --hugepages 0.
scen_hugepages() {
    B=$(vm_bdf blk0)
    n0=/sys/devices/system/node/node0/hugepages/hugepages-2048kB
    huge_1g
    ck "devbind: bind blk" uvio-devbind --bind vfio-pci "$B"
    ck_err "open: no hugepages" "uvio-devbind --hugepages" uvio-vmtest --bdf "$B"
    ck "devbind: --hugepages=32" uvio-devbind --hugepages=32
    meminfo_is "devbind: --hugepages 32 in /proc/meminfo (total)" HugePages_Total 32
    meminfo_is "devbind: --hugepages 32 in /proc/meminfo (free)" HugePages_Free 32
    uvio-devbind --show >/tmp/show.out 2>&1
    ck "devbind: --show: 32 free 2M pages on node 0 and in all, and the mount" \
        sh -c "grep -q '^0 *2M *32 *32 *64M\$' /tmp/show.out &&
               grep -q '^all *2M *32 *32 *64M\$' /tmp/show.out &&
               grep -q '^hugetlbfs on /dev/hugepages (2M pages)\$' /tmp/show.out"
    ck "blk works after --hugepages: READ, WRITE" uvio-vmtest -q --bdf "$B" $blkio
    ck_err "devbind: --hugepages more than memory" "hugepages could be reserved" \
        uvio-devbind --hugepages 100000
    ck "devbind: --clear" uvio-devbind --clear
    meminfo_is "devbind: --clear in /proc/meminfo" HugePages_Total 0
    ck "devbind: --node 0 --hugepages 16" uvio-devbind --node 0 --hugepages 16
    meminfo_is "devbind: --node 0 in /proc/meminfo" HugePages_Total 16
    ck "devbind: --node 0 in node0's nr_hugepages" grep -qx 16 $n0/nr_hugepages
    ck "devbind: --clear --pagesize=2M --node=0" uvio-devbind --clear --pagesize=2M --node=0
    meminfo_is "devbind: --clear --node 0 in /proc/meminfo" HugePages_Total 0
    ck_err "devbind: no such node" "no NUMA node 9 (nodes here: 0)" \
        uvio-devbind --hugepages 1 --node 9
    ck_err "devbind: no such page size" "no 4M hugepages on this CPU" \
        uvio-devbind --hugepages 1 --pagesize 4M
}

"scen_$SCEN"
echo "CHECK-END"
true
