# Shell helpers for uvio-vm guest commands (busybox ash).  uvio-vm's /init
# sources this file before the command, so these are always defined:
#
#   vm_bdf ID            BDF of the device with that uvio-vm id (blk0, net1...)
#   vm_ids               "id bdf" for every device uvio-vm added
#   vm_virtio_bdfs       BDFs of all virtio PCI devices (vendor 0x1af4)
#   vm_pci_id BDF        "vendor device", e.g. "0x1af4 0x1041"
#   vm_driver BDF        driver bound now (empty if none)
#   vm_unbind BDF        unbind from its driver (no-op if none)
#   vm_bind BDF DRIVER   driver_override + unbind + drivers_probe; fails if
#                        the device did not end up bound to DRIVER
#   vm_group BDF         IOMMU group number (empty if none)
#   vm_vfio_dev BDF      /dev/vfio/N or /dev/vfio/noiommu-N of a vfio-pci device
#   vm_uio_dev BDF       /dev/uioN of a uio_pci_generic device
#
# The project's real binding tool is uvio-devbind; these are for tests of the
# testbed itself and for quick experiments.

vm_ids() { cat /etc/uvio-vm/devices; }

vm_bdf() {
    while read -r _id _bdf; do
        [ "$_id" = "$1" ] && { echo "$_bdf"; return 0; }
    done </etc/uvio-vm/devices
    echo "vm_bdf: no device with id $1" >&2
    return 1
}

vm_virtio_bdfs() {
    for _d in /sys/bus/pci/devices/*; do
        [ "$(cat "$_d/vendor")" = 0x1af4 ] && echo "${_d##*/}"
    done
    return 0
}

vm_pci_id() {
    echo "$(cat "/sys/bus/pci/devices/$1/vendor") $(cat "/sys/bus/pci/devices/$1/device")"
}

vm_driver() {
    if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
        _l=$(readlink "/sys/bus/pci/devices/$1/driver")
        echo "${_l##*/}"
    fi
    return 0
}

vm_unbind() {
    [ -e "/sys/bus/pci/devices/$1/driver" ] || return 0
    echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
}

vm_bind() {
    _bdf=$1 _drv=$2
    [ -e "/sys/bus/pci/devices/$_bdf" ] || { echo "vm_bind: no device $_bdf" >&2; return 1; }
    echo "$_drv" >"/sys/bus/pci/devices/$_bdf/driver_override" || return 1
    vm_unbind "$_bdf" || return 1
    echo "$_bdf" >/sys/bus/pci/drivers_probe 2>/dev/null
    if [ "$(vm_driver "$_bdf")" != "$_drv" ]; then
        echo "vm_bind: $_bdf did not bind to $_drv (dmesg tail follows)" >&2
        dmesg | tail -n 5 >&2
        return 1
    fi
}

vm_group() {
    if [ -e "/sys/bus/pci/devices/$1/iommu_group" ]; then
        _l=$(readlink "/sys/bus/pci/devices/$1/iommu_group")
        echo "${_l##*/}"
    fi
    return 0
}

vm_vfio_dev() {
    _g=$(vm_group "$1")
    [ -n "$_g" ] || { echo "vm_vfio_dev: $1 has no IOMMU group" >&2; return 1; }
    for _f in "/dev/vfio/$_g" "/dev/vfio/noiommu-$_g"; do
        [ -c "$_f" ] && { echo "$_f"; return 0; }
    done
    echo "vm_vfio_dev: no /dev/vfio node for group $_g" >&2
    return 1
}

vm_uio_dev() {
    for _u in "/sys/bus/pci/devices/$1/uio/"uio*; do
        [ -e "$_u" ] && { echo "/dev/${_u##*/}"; return 0; }
    done
    echo "vm_uio_dev: $1 has no uio device" >&2
    return 1
}

# ---- the test protocol the guest halves of tests/vm/run-* speak ----------
#   ck_pass NAME / ck_fail NAME DETAIL   one "CHECK ok|fail" line for the host
#   ctl_open                             fd 3 = the second serial port, raw
#   host MSG...                          one line to the host on fd 3, then
#                                        wait for its "GO" (fails otherwise)
ck_pass() { echo "CHECK ok $1"; }
ck_fail() { echo "CHECK fail $1: $2"; }

ctl_open() {
    stty -F /dev/ttyS1 raw -echo 2>/dev/null
    exec 3<>/dev/ttyS1
}

host() {
    echo "$*" >&3
    _r=''
    read -r -t 600 _r <&3
    case $_r in GO*) return 0 ;; esac
    ck_fail "host handshake" "no GO for '$*' (got '$_r')"
    return 1
}
