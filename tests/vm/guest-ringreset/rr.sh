# shellcheck shell=sh disable=SC3045  # busybox ash has read -t
# Guest side of tests/vm/run-ringreset (busybox ash), sourced after
# uvio-vm's funcs.sh. uvio-vmtest --ring-reset does the work and prints
# the "CHECK ok|fail ..." lines (apps/uvio-vmtest/ringreset.c); this
# binds the devices and talks to the host over /dev/ttyS1:
#   SYNC count N     the host starts counting pktfwd-format frames on its tap
#   SYNC inject N    uvio-vmtest receives: the host sends N frames into the tap
#   END
# Ends with "CHECK-END"; always exits 0: the host counts the lines.

ctl_open
NET=$(vm_bdf net0) BLK=$(vm_bdf blk0)
vm_bind "$NET" vfio-pci || ck_fail "bind net0" "$NET"
vm_bind "$BLK" vfio-pci || ck_fail "bind blk0" "$BLK"

host SYNC count "$TXN"
rm -f /tmp/rr.rxready /tmp/rr.rxdone
uvio-vmtest --bdf "$NET" --ring-reset >/tmp/rr.net 2>&1 &
rr=$!
i=0
while [ ! -e /tmp/rr.rxready ] && kill -0 "$rr" 2>/dev/null && [ $i -lt 1200 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -e /tmp/rr.rxready ] && host SYNC inject "$RXN"
touch /tmp/rr.rxdone
wait "$rr" || echo "net: uvio-vmtest --ring-reset exit $?"
cat /tmp/rr.net

uvio-vmtest --bdf "$BLK" --ring-reset 2>&1 || echo "blk: uvio-vmtest --ring-reset exit $?"
host END
echo "CHECK-END"
