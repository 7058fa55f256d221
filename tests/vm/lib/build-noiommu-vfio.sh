#!/usr/bin/env bash
# build-noiommu-vfio.sh KVER OUT.ko
#
# Debian's kernels (cloud and generic) are built without CONFIG_VFIO_NOIOMMU,
# so vfio has no enable_unsafe_noiommu_mode and /dev/vfio/noiommu-N never
# appears.  This rebuilds vfio.ko alone, from the same kernel's source, with
# CONFIG_VFIO_NOIOMMU defined.  Nothing else in vfio depends on that option,
# and the exported symbols' CRCs are checked against the kernel's
# Module.symvers, so the stock vfio_iommu_type1 and vfio-pci load on top of it.
# The module is unsigned: loading it taints the guest kernel (harmless here).
#
# Needs linux-source-X.Y (the tarball in /usr/src) and linux-headers-KVER.
# Exit status: 0 built, 3 a package is missing (one line says which), 1 failed.
set -euo pipefail

kver=${1:?usage: build-noiommu-vfio.sh KVER OUT.ko}
out=${2:?usage: build-noiommu-vfio.sh KVER OUT.ko}
me=build-noiommu-vfio

series=$(echo "$kver" | cut -d. -f1,2)          # 6.1.0-56-cloud-amd64 -> 6.1
tarball=/usr/src/linux-source-$series.tar.xz
kbuild=/lib/modules/$kver/build
missing=()
[[ -r $tarball ]] || missing+=("linux-source-$series")
[[ -f $kbuild/Makefile ]] || missing+=("linux-headers-$kver")
command -v make >/dev/null 2>&1 || missing+=(make)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
if ((${#missing[@]})); then
    echo "$me: missing packages for a no-IOMMU vfio.ko: apt-get install -y ${missing[*]}" >&2
    exit 3
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX")
trap 'rm -rf "$work"' EXIT

tar -C "$work" -xJf "$tarball" --wildcards "linux-source-$series/drivers/vfio/*"
src=$work/linux-source-$series/drivers/vfio
[[ -f $src/Makefile ]] || { echo "$me: no drivers/vfio in $tarball" >&2; exit 1; }
mkdir "$work/m"
cp "$src"/*.c "$src"/*.h "$work/m/"
{
    # the Makefile's vfio-y lines (which objects make up vfio.ko), nothing else
    grep -v -e '^obj-' -e '^[a-z_]*virqfd' "$src/Makefile"
    echo 'obj-m := vfio.o'
    echo 'ccflags-y += -DCONFIG_VFIO_NOIOMMU=1'
} >"$work/m/Kbuild"
rm -f "$work/m/Makefile"

if ! make -C "$kbuild" M="$work/m" CONFIG_VFIO_NOIOMMU=y modules >"$work/log" 2>&1; then
    tail -n 20 "$work/log" >&2
    echo "$me: building vfio.ko failed" >&2
    exit 1
fi

# The rebuilt module must export exactly what the stock one does, with the
# same CRCs (else vfio-pci would refuse to load against it).
want=$(awk -F'\t' '$3 == "drivers/vfio/vfio" {print $2, $1}' "$kbuild/Module.symvers" | sort)
got=$(awk -F'\t' '{print $2, $1}' "$work/m/Module.symvers" | sort)
if [[ -z $want || $want != "$got" ]]; then
    echo "$me: the rebuilt vfio.ko's symbol CRCs differ from kernel $kver's (linux-source-$series is another version?)" >&2
    exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$work/m/vfio.ko" "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
