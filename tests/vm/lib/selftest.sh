#!/usr/bin/env bash
# shellcheck disable=SC2016 # the guest commands are single-quoted on purpose
# Self-test of the VM testbed: boots a dozen guests (about 2 minutes under
# TCG) and checks what uvio-vm promises.  Prints "N passed, N failed[, N skipped]".
#   tests/vm/lib/selftest.sh [extra uvio-vm options...]
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm=$here/../uvio-vm
extra=("$@")
work=$(mktemp -d "${TMPDIR:-/tmp}/uvio-vm-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT
truncate -s 64M "$work/a.img" "$work/b.img" "$work/c.img"
# UDP ports unlikely to collide with a parallel run
p0=$((20000 + ($$ % 2000) * 8))
pass=0 fail=0 skip=0

# check NAME WANT_STATUS [uvio-vm args...]: run, compare the exit status; the
# guest output must also contain every line of $expect (if set)
expect=''
check() {
    local name=$1 want=$2 out rc t0 t1 line
    shift 2
    t0=$(date +%s.%N)
    out=$("$vm" "${extra[@]}" "$@" 2>&1)
    rc=$?
    t1=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
    if [[ $rc == 77 && $want != 77 ]]; then
        echo "SKIP $name (${secs} s): $(tail -n 1 <<<"$out")"
        skip=$((skip + 1)); expect=''; return
    fi
    local ok=1
    [[ $rc == "$want" ]] || ok=0
    while IFS= read -r line; do
        [[ -z $line ]] && continue
        grep -qF -- "$line" <<<"$out" || { ok=0; echo "  missing: $line"; }
    done <<<"$expect"
    if [[ $ok == 1 ]]; then
        echo "PASS $name (${secs} s)"
        pass=$((pass + 1))
    else
        echo "FAIL $name: exit $rc, wanted $want (${secs} s); output:"
        while IFS= read -r line; do echo "  | $line"; done <<<"$out" | tail -n 30
        fail=$((fail + 1))
    fi
    expect=''
}

kernel=${UVIO_VM_KERNEL:-$(find /boot -maxdepth 1 -name 'vmlinuz-*-cloud-amd64' | sort -V | tail -n 1)}
expect=${kernel##*/vmlinuz-}
check "boot, uname, /dev/vfio" 0 -- 'uname -r; ls /dev/vfio'
check "exit status passes through" 3 -- 'exit 3'

bind_vfio='set -e
for id in blk0 net0; do b=$(vm_bdf $id); echo "$id $(vm_pci_id $b)"
  echo vfio-pci > /sys/bus/pci/devices/$b/driver_override
  echo $b > /sys/bus/pci/devices/$b/driver/unbind
  echo $b > /sys/bus/pci/drivers_probe
  echo "$id -> $(vm_driver $b) $(vm_vfio_dev $b)"; done'
expect='blk0 0x1af4 0x1001
net0 0x1af4 0x1041
blk0 -> vfio-pci /dev/vfio/
net0 -> vfio-pci /dev/vfio/'
check "vtd: virtio-blk + virtio-net bind to vfio-pci" 0 \
    --blk "$work/a.img" --net "udp:$p0:$((p0 + 1))" -- "$bind_vfio"

expect='blk0 -> vfio-pci /dev/vfio/noiommu-
net0 -> vfio-pci /dev/vfio/noiommu-'
check "noiommu: vfio-pci gives /dev/vfio/noiommu-N" 0 --iommu noiommu \
    --blk "$work/a.img" --net "udp:$p0:$((p0 + 1))" -- \
    '[ -e /sys/module/vfio/parameters/enable_unsafe_noiommu_mode ] || { echo "no CONFIG_VFIO_NOIOMMU"; exit 77; }
'"$bind_vfio"

bind_uio='set -e; for id in blk0 net0; do b=$(vm_bdf $id); vm_bind $b uio_pci_generic; echo "$id -> $(vm_uio_dev $b)"; done'
expect='blk0 -> /dev/uio0
net0 -> /dev/uio1'
check "none: uio_pci_generic gives /dev/uioN" 0 --iommu none \
    --blk "$work/a.img" --net "udp:$p0:$((p0 + 1))" -- "$bind_uio"
expect='blk0 -> /dev/uio0
net0 -> /dev/uio1'
check "vtd: uio_pci_generic gives /dev/uioN" 0 \
    --blk "$work/a.img" --net "udp:$p0:$((p0 + 1))" -- "$bind_uio"

# feature bits as the kernel driver negotiated them: 32 VERSION_1,
# 33 ACCESS_PLATFORM, 34 RING_PACKED
expect='blk0 0x1af4 0x1001 v1=1 ap=0 packed=0
blk1 0x1af4 0x1001 v1=0 ap=0 packed=0
blk2 0x1af4 0x1042 v1=1 ap=1 packed=1
net0 0x1af4 0x1041 v1=1 ap=1 packed=0
net1 0x1af4 0x1000 v1=0 ap=0 packed=0
net2 0x1af4 0x1041 v1=1 ap=1 packed=1'
check "legacy, modern, packed variants" 0 \
    --blk "$work/a.img" --blk "$work/b.img,legacy" --blk "$work/c.img,modern,packed,queues=2" \
    --net "udp:$p0:$((p0 + 1))" --net "udp:$((p0 + 2)):$((p0 + 3)),legacy" \
    --net "udp:$((p0 + 4)):$((p0 + 5)),packed,mac=52:54:00:00:00:05" -- \
    'vm_ids | while read -r id b; do f=$(cat /sys/bus/pci/devices/$b/virtio*/features)
       echo "$id $(vm_pci_id $b) v1=$(echo $f | cut -c33) ap=$(echo $f | cut -c34) packed=$(echo $f | cut -c35)"; done'

expect='HugePages_Total:      64'
check "64 hugepages by default, hugetlbfs mounted" 0 -- \
    'grep HugePages_Total /proc/meminfo; grep -q "/dev/hugepages hugetlbfs" /proc/mounts'
expect='HugePages_Total:       0'
check "--hugepages 0" 0 --hugepages 0 -- 'grep HugePages_Total /proc/meminfo'

expect='uvio-vm: guest timed out after 20 s (killed)'
check "timeout kills a hung guest" 124 --timeout 20 -- 'sleep 100'

expect='unknown option'
check "usage error" 2 --bogus -- true
check "QEMU start failure" 125 --qemu-arg -no-such-qemu-option -- true

echo "$pass passed, $fail failed, $skip skipped"
[[ $fail == 0 ]]
