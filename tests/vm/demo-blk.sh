#!/bin/bash
# make demo, virtio-blk part: boot the test guest with one virtio-blk disk,
# hand it to vfio-pci, let blkbench write every block past the first MiB with
# --verify stamps and read them all back, then check on the host with
# blkcheck that every block landed.
#
#   tests/vm/demo-blk.sh [IMAGE [SEED]]
#
# IMAGE (default: a new 8 MiB file, removed afterwards) is the raw disk; its
# first MiB is left alone, so a greeting there survives. Needs 'make' first.
# Exits with blkbench's or blkcheck's failure, else 0.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$repo/build
img=${1:-} seed=${2:-$((RANDOM % 1000 + 1))}
off=$((1 << 20))

for f in "$build/blkbench" "$build/blkcheck" "$build/uvio-devbind"; do
    [[ -x $f ]] || { echo "demo-blk: $f is missing: run 'make' first" >&2; exit 1; }
done
if [[ -z $img ]]; then
    work=$(mktemp -d /tmp/uvio-demo-blk.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    img=$work/disk.img
    truncate -s 8M "$img"
fi
[[ -f $img ]] || { echo "demo-blk: $img: no such file" >&2; exit 1; }
size=$(stat -c %s "$img")
((size >= off + (1 << 20))) || { echo "demo-blk: $img is smaller than 2 MiB" >&2; exit 1; }
len=$(((size - off) / 4096 * 4096))

guest=$(cat <<EOF
B=\$(vm_bdf blk0)
echo; echo "== uvio-devbind --bind vfio-pci \$B"
uvio-devbind --bind vfio-pci \$B || exit 1
echo; echo "== blkbench -d pci:\$B --rw randwrite --verify --seed $seed --offset $off --iodepth 16"
echo "   (every 4 KiB block from 1 MiB on, once, in random order, stamped with its LBA, seed and a CRC32C)"
blkbench -d pci:\$B --rw randwrite --verify --seed $seed --offset $off --iodepth 16 || exit 1
echo; echo "== blkbench -d pci:\$B --rw randread --verify --seed $seed --offset $off --iodepth 16"
blkbench -d pci:\$B --rw randread --verify --seed $seed --offset $off --iodepth 16 || exit 1
EOF
)

echo "demo-blk: booting the guest (QEMU TCG, q35 + intel-iommu): about 10 s"
"$here/uvio-vm" --blk "$img,serial=uvio-demo-blk" -- "$guest" 2>&1 | tr -d '\r'
rc=${PIPESTATUS[0]}
((rc == 0)) || { echo "demo-blk: the guest run failed (exit $rc)" >&2; exit "$rc"; }

echo
echo "== back on the host: blkcheck $(basename "$img") --seed $seed --offset $off --size $len"
"$build/blkcheck" "$img" --seed "$seed" --offset "$off" --size "$len"
