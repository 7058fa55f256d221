#!/bin/bash
# The virtio-net part of `make demo`: a guest whose two NICs only uvio drives
# is the wire between two network namespaces of this host, and a ping
# crosses it.
#
#   netns A: tap 10.0.0.1 ==QEMU== net0 [guest: pktfwd --mode io] net1 ==QEMU== tap 10.0.0.2 :netns B
#
# Needs root (taps, namespaces) and python3 (tests/vm/host/nettool.py pings:
# iputils may be missing). How the taps get into the namespaces, and how
# the two sides talk, is explained at the top of tests/vm/run-net.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/ctl-read.sh
. "$here/ctl-read.sh"
repo=$(cd "$here/../.." && pwd)
nettool=$here/host/nettool.py
((EUID == 0)) || { echo "demo-net: needs root (taps, network namespaces)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "demo-net: needs python3" >&2; exit 1; }
for f in "$repo/build/pktfwd" "$repo/build/uvio-devbind"; do
    [[ -x $f ]] || { echo "demo-net: $f is missing: run 'make' first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/uvio-demo-net.XXXXXX)
id=$(($$ % 100000))
tapA=uvdA$id tapB=uvdB$id nsA=uvio-demoA-$id nsB=uvio-demoB-$id
vmpid=''
cleanup() {
    [[ -n $vmpid ]] && kill -TERM "$vmpid" 2>/dev/null && wait "$vmpid" 2>/dev/null
    ip netns del "$nsA" 2>/dev/null
    ip netns del "$nsB" 2>/dev/null
    ip link del "$tapA" 2>/dev/null
    ip link del "$tapB" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

guest=$(cat <<'EOF'
stty -F /dev/ttyS1 raw -echo; exec 3<>/dev/ttyS1
A=$(vm_bdf net0) B=$(vm_bdf net1)
echo "== uvio-devbind --bind vfio-pci $A $B"
uvio-devbind --bind vfio-pci "$A" "$B" || exit 1
echo "== pktfwd -p pci:$A -p pci:$B --mode io (the guest is the wire)"
pktfwd -p "pci:$A" -p "pci:$B" --mode io --stats-interval 2 >/tmp/pf.out 2>&1 &
pf=$!
i=0
until [ "$(grep -c ' queue pair' /tmp/pf.out)" = 2 ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.3
echo "SYNC" >&3
read -r -t 300 _go <&3
kill -INT $pf
wait $pf
rc=$?
cat /tmp/pf.out
exit $rc
EOF
)

for t in "$tapA" "$tapB"; do
    ip tuntap add dev "$t" mode tap || exit 1
    sysctl -qw "net.ipv6.conf.$t.disable_ipv6=1"
    ip link set "$t" up
done
mkfifo "$work/ctl.in" "$work/ctl.out"
echo "demo-net: booting the guest with two virtio-net NICs on taps $tapA and $tapB (QEMU TCG: about 10 s)"
# shellcheck disable=SC2054 # commas inside QEMU option values
"$here/uvio-vm" --timeout 300 \
    --qemu-arg -chardev --qemu-arg "pipe,id=ctl,path=$work/ctl" \
    --qemu-arg -device --qemu-arg isa-serial,chardev=ctl,index=1 \
    --net "tap:$tapA,mac=52:54:00:de:0a:01" --net "tap:$tapB,packed,mac=52:54:00:de:0b:01" \
    -- "$guest" >"$work/log" 2>&1 &
vmpid=$!
exec 5<>"$work/ctl.in" 6<>"$work/ctl.out"
i=0
until [[ $(cat "/sys/class/net/$tapA/carrier" 2>/dev/null) == 1 &&
         $(cat "/sys/class/net/$tapB/carrier" 2>/dev/null) == 1 ]]; do
    if ! kill -0 "$vmpid" 2>/dev/null || ((i++ > 600)); then
        echo "demo-net: QEMU did not start:" >&2
        tail -n 20 "$work/log" >&2
        exit 1
    fi
    sleep 0.1
done
# QEMU holds the taps now: they keep working in other namespaces.
ip netns add "$nsA" && ip netns add "$nsB" || exit 1
for s in A B; do
    if [[ $s == A ]]; then ns=$nsA t=$tapA a=10.0.0.1/24; else ns=$nsB t=$tapB a=10.0.0.2/24; fi
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip link set "$t" netns "$ns" && ip -n "$ns" link set lo up &&
        ip -n "$ns" link set "$t" up && ip -n "$ns" addr add "$a" dev "$t" || exit 1
done
echo "demo-net: namespace $nsA has $tapA 10.0.0.1/24, namespace $nsB has $tapB 10.0.0.2/24"

ping_rc=1
while true; do
    line=''
    if ! ctl_read 6; then
        kill -0 "$vmpid" 2>/dev/null && continue
        break
    fi
    if [[ ${line%$'\r'} == SYNC ]]; then
        echo
        echo "== ip netns exec $nsA ping -c 5 10.0.0.2   (through pktfwd in the guest)"
        ip netns exec "$nsA" python3 "$nettool" ping 10.0.0.2 -c 5 -i 0.5 -v |
            sed 's/^{.*"received": \([0-9]*\).*"transmitted": \([0-9]*\).*/\2 transmitted, \1 received/'
        ping_rc=${PIPESTATUS[0]}
        echo GO >&5
    fi
done
wait "$vmpid"
rc=$?
vmpid=''
echo
echo "== the guest's side"
cat "$work/log"
((rc == 0 && ping_rc == 0)) || { echo "demo-net: failed (guest exit $rc, ping exit $ping_rc)" >&2; exit 1; }
