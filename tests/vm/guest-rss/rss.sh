# shellcheck shell=sh disable=SC3045  # busybox ash has read -t
# Guest side of tests/vm/run-rss (busybox ash), sourced after uvio-vm's
# funcs.sh, with RXN set. vm_net_rss (next to this file) does the work and
# prints the "CHECK ok|fail ..." lines, then pktfwd --offload rss must say
# the offload is in effect; this binds net0 and talks to the host over
# /dev/ttyS1:
#   SYNC inject N    vm_net_rss receives: the host sends N frames of 16
#                    flows into the tap
#   END
# Ends with "CHECK-END"; always exits 0: the host counts the lines.

ctl_open

[ -n "${NO_RSS:-}" ] && export NO_RSS
NET=$(vm_bdf net0)
vm_bind "$NET" vfio-pci || ck_fail "bind net0" "$NET"
rm -f /tmp/rss.ready /tmp/rss.done
/uvio-guest-rss/vm_net_rss "pci:$NET" "$RXN" /tmp/rss.ready /tmp/rss.done >/tmp/rss.out 2>&1 &
pid=$!
i=0
while [ ! -e /tmp/rss.ready ] && kill -0 "$pid" 2>/dev/null && [ $i -lt 1200 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -e /tmp/rss.ready ] && host SYNC inject "$RXN"
touch /tmp/rss.done
wait "$pid" || echo "vm_net_rss exit $?"
cat /tmp/rss.out
# pktfwd --offload rss: the offload is in effect on both pairs.
out=$(/uvio/pktfwd -p "pci:$NET" --queues 2 --mode rxonly --offload rss --duration 0.5 2>&1)
case $out in
    *"2 queue pairs"*"offloads rss"*) echo "CHECK ok guest: pktfwd --offload rss --queues 2: $(echo "$out" | grep -m1 'queue pairs')" ;;
    *) ck_fail "guest: pktfwd --offload rss --queues 2" "$(echo "$out" | grep -m1 pktfwd)" ;;
esac
host END
echo "CHECK-END"
