# shellcheck shell=sh disable=SC3045  # busybox ash has read -t
# Guest side of tests/vm/run-event (busybox ash): event mode over VFIO
# (MSI-X). pktfwd --idle-sleep is the wire between the host's namespaces
# A and B (A split, B packed); idle, it must sleep; QMP set_link must reach
# it as an event without config polling; blkbench --completion irq on a
# split, a packed and a legacy disk (the legacy MSI-X vector registers);
# on a uio_pci_generic disk it must be refused. Set by the host: MACA MACB IDLE_MAX_PCT.
#
# Talks to the host over /dev/ttyS1, as guest-net/net.sh:
#   SYNC wire LABEL     the host pings and sends 16 MiB of TCP A -> B
#   SYNC link up|down   the host has QEMU set net0's link (QMP set_link)
#   RESULT LABEL JSON   pktfwd's summary, for the host to judge
#   END
# Prints "CHECK ok|fail NAME[: detail]" and "CHECK-END"; exits 0.

# Centiseconds since boot (/proc/uptime: busybox date has no %N).
now_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }

# CPU% of PID over 3 s: utime + stime from /proc/PID/stat (USER_HZ 100).
cpu_pct() {
    _a=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
    sleep 3
    _b=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
    awk -v a="$_a" -v b="$_b" 'BEGIN { printf "%.1f", (b - a) / 3 }'
}

pf_start() {
    _l=$1
    shift
    : >/tmp/pf.out
    : >/tmp/pf.err
    pktfwd --stats-interval 0 --json "$@" >/tmp/pf.out 2>/tmp/pf.err &
    pf=$!
    _i=0
    while [ "$(grep -c ' queue pair' /tmp/pf.err)" -lt 2 ]; do
        if ! kill -0 "$pf" 2>/dev/null || [ $_i -ge 600 ]; then
            wait "$pf"
            ck_fail "$_l: pktfwd starts" "exit $?: $(tr '\n' '|' </tmp/pf.err)"
            pf=''
            return 1
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    sleep 0.5
    if grep -q 'link polled' /tmp/pf.err; then
        ck_fail "$_l: both ports have a config interrupt" "$(grep 'link polled' /tmp/pf.err | tr '\n' '|')"
    else
        ck_pass "$_l: pktfwd starts, rx and config interrupts on both ports (MSI-X)"
    fi
}

pf_wait() {
    kill -INT "$pf"
    wait "$pf"
    _rc=$?
    pf=''
    if [ "$_rc" = 0 ]; then
        ck_pass "$1: pktfwd exits 0 ($(grep '^idle:' /tmp/pf.err))"
    else
        ck_fail "$1: pktfwd exits 0" "exit $_rc: $(tail -n 3 /tmp/pf.err | tr '\n' '|')"
    fi
    host "RESULT $1 $(grep '^{' /tmp/pf.out | tail -n 1)"
}

idle_cpu() {
    sleep 1
    _p=$(cpu_pct "$pf")
    if awk -v p="$_p" -v m="$IDLE_MAX_PCT" 'BEGIN { exit !(p < m) }'; then
        ck_pass "$1: idle pktfwd uses $_p% of a CPU over 3 s (< $IDLE_MAX_PCT%, /proc/PID/stat)"
    else
        ck_fail "$1: idle pktfwd uses < $IDLE_MAX_PCT% of a CPU" "$_p% over 3 s"
    fi
}

# The config-read counter pktfwd printed after its last "link WORD" line.
reads_after() {
    grep -A1 "port 0: link $1" /tmp/pf.err | sed -n 's/.*config-space reads so far: \([0-9]*\).*/\1/p' | tail -n 1
}

# link_event WORD: after QMP set_link, pktfwd prints "port 0: link WORD"
# within 1 s of the QMP command's answer.
link_event() {
    host "SYNC link $1" || return
    _t0=$(now_cs)
    _i=0
    while ! grep -q "port 0: link $1" /tmp/pf.err && [ $_i -lt 100 ]; do
        sleep 0.02
        _i=$((_i + 1))
    done
    _dt=$(( ($(now_cs) - _t0) * 10 ))
    if grep -q "port 0: link $1" /tmp/pf.err && [ "$_dt" -le 1000 ]; then
        ck_pass "link $1: pktfwd prints '$(grep -m1 "port 0: link $1" /tmp/pf.err)' within ${_dt} ms of QMP set_link"
    else
        ck_fail "link $1: pktfwd prints 'port 0: link $1' within 1 s" "after ${_dt} ms: $(tail -n 3 /tmp/pf.err | tr '\n' '|')"
    fi
}

net() {
    pf_start "idle io" -p "pci:$A" -p "pci:$B" --mode io --idle-sleep 1000 || return
    idle_cpu "idle io"
    host "SYNC wire io idle-sleep" || return
    idle_cpu "idle io after traffic"
    _r0=$(awk '{ print $1 }' /proc/uptime)
    link_event down
    sleep 2          # a poller would read config ~20 times meanwhile
    link_event up
    _d=$(reads_after down) _u=$(reads_after up)
    if [ -n "$_d" ] && [ -n "$_u" ] && [ $((_u - _d)) -le 4 ]; then
        ck_pass "link: $((_u - _d)) config-space reads between the down and up events (one link read; no polling over $(awk -v a="$_r0" '{ printf "%.1f", $1 - a }' /proc/uptime) s)"
    else
        ck_fail "link: no config polling between the events" "reads after down '$_d', after up '$_u'"
    fi
    pf_wait "io idle-sleep"
}

# bb NAME DEV SEED: blkbench --completion irq --verify on DEV.
bb() {
    if _o=$(blkbench -d "pci:$2" --completion irq --rw randwrite --bs 4096 --iodepth 8 \
        --io-count 20000 --verify --seed "$3" 2>&1); then
        ck_pass "$1: blkbench --completion irq --verify ($(echo "$_o" | grep -m1 -i 'iops' | tr -s ' ' | head -c 80); $(echo "$_o" | grep -m1 'slept' | sed 's/^blkbench: //'))"
    else
        ck_fail "$1: blkbench --completion irq --verify" "$(echo "$_o" | tail -n 3 | tr '\n' '|')"
    fi
}

# UIO has one shared INTx line: event mode must refuse, saying why.
uio_refused() {
    if ! uvio-devbind --bind uio_pci_generic "$D3" >/tmp/bind.out 2>&1; then
        ck_fail "blk uio: devbind to uio_pci_generic" "$(tr '\n' '|' </tmp/bind.out)"
        return
    fi
    _o=$(blkbench -d "pci:$D3" --completion irq --rw randread --io-count 100 2>&1)
    _rc=$?
    case $_o in
        *"no per-queue interrupts over uio"*)
            [ "$_rc" != 0 ] && ck_pass "blk uio: --completion irq refused: $(echo "$_o" | grep -m1 'no per-queue' | sed 's/^blkbench: //')" && return ;;
    esac
    ck_fail "blk uio: --completion irq refused with a clear line" "exit $_rc: $(echo "$_o" | tail -n 3 | tr '\n' '|')"
}

A=$(vm_bdf net0) B=$(vm_bdf net1) D0=$(vm_bdf blk0) D1=$(vm_bdf blk1)
D2=$(vm_bdf blk2) D3=$(vm_bdf blk3)
pf=''
ctl_open
if uvio-devbind --bind vfio-pci "$A" "$B" "$D0" "$D1" "$D2" >/tmp/bind.out 2>&1; then
    ck_pass "devbind: 2 NICs and 3 disks to vfio-pci"
    net
    bb "blk split" "$D0" 31
    bb "blk packed" "$D1" 32
    bb "blk legacy" "$D2" 33
    uio_refused
else
    ck_fail "devbind: 2 NICs and 3 disks to vfio-pci" "$(tr '\n' '|' </tmp/bind.out)"
fi
host END
echo "CHECK-END"
true
