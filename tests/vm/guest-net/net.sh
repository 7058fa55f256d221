# shellcheck shell=sh disable=SC3045  # busybox ash has read -t
# Guest side of tests/vm/run-net (busybox ash): pktfwd is the wire between
# the host's network namespaces A and B. Sourced after uvio-vm's funcs.sh
# with these variables set by the host:
#   SCEN        the scenario below            MACA MACB  the NICs' MACs
#   TXN TXRATE  txonly: frames, pps           RXN        rxonly: frames
#   FLT         filter test: frames per kind  VLAN_ON    --vlan test: the VID
#
# Talks to the host over a second serial port (/dev/ttyS1; the host has the
# other end as a pair of FIFOs): every line sent there is answered by
# "GO ..." once the host has done its part:
#   SYNC wire LABEL     pktfwd io runs: the host pings and sends TCP A -> B
#   SYNC jumbo          the same with 9000-byte frames
#   SYNC count N        the host starts counting pktfwd frames on tap A
#   SYNC inject N RATE  pktfwd rxonly runs: the host sends N frames into tap A
#   SYNC filter KIND    pktfwd rxonly runs: own/foreign/VLAN frames sent
#                       (KIND off|on: promisc; vlan: --vlan 100)
#   SYNC link up|down   the host has QEMU set net0's link (QMP set_link)
#   RESULT LABEL JSON   pktfwd's summary, for the host to judge
#   END
# Guest-side checks print "CHECK ok|fail|skip NAME[: detail]" on the console
# and "CHECK-END" at the end. Always exits 0: the host counts the lines.

ck_skip() { echo "CHECK skip $1: $2"; }

# ck NAME CMD...: CMD must exit 0.
ck() {
    _n=$1
    shift
    if _o=$("$@" 2>&1); then
        ck_pass "$_n"
    else
        ck_fail "$_n" "$(printf '%s' "$_o" | tail -n 3 | tr '\n' '|')"
    fi
}

# pf_says LABEL TEXT [PORTS]: pktfwd printed TEXT once per port (2).
pf_says() {
    _w="both ports have"
    [ "${3:-2}" = 1 ] && _w="the port has"
    if [ "$(grep -c "$2" /tmp/pf.err)" = "${3:-2}" ]; then
        ck_pass "$1: $_w $2"
    else
        ck_fail "$1: $_w $2" "$(tr '\n' '|' </tmp/pf.err)"
    fi
}

# pf_start LABEL PORTS ARGS...: pktfwd in the background; returns once
# every port printed its line (it is polling then) or pktfwd exited.
pf_start() {
    _l=$1 _np=$2
    shift 2
    # Emptied here: the background shell truncates them only when it runs.
    : >/tmp/pf.out
    : >/tmp/pf.err
    pktfwd --stats-interval 0 --json "$@" >/tmp/pf.out 2>/tmp/pf.err &
    pf=$!
    _i=0
    while [ "$(grep -c ' queue pair' /tmp/pf.err)" -lt "$_np" ]; do
        if ! kill -0 "$pf" 2>/dev/null || [ $_i -ge 600 ]; then
            wait "$pf"
            ck_fail "$_l: pktfwd starts" "exit $?: $(tr '\n' '|' </tmp/pf.err)"
            pf=''
            return 1
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    sleep 0.3       # the line comes just before the threads start
    ck_pass "$_l: pktfwd starts ($(grep ' queue pair' /tmp/pf.err | sed 's/^pktfwd: //' | tr '\n' ';'))"
}

# pf_wait LABEL [INT]: stop pktfwd (SIGINT) or let it finish; its exit
# status must be 0; its JSON summary goes to the host.
pf_wait() {
    [ -n "$pf" ] || return 1
    [ "${2:-}" = INT ] && kill -INT "$pf"
    wait "$pf"
    _rc=$?
    pf=''
    if [ "$_rc" = 0 ]; then
        ck_pass "$1: pktfwd exits 0"
    else
        ck_fail "$1: pktfwd exits 0" "exit $_rc: $(tail -n 3 /tmp/pf.out | tr '\n' '|') $(tail -n 3 /tmp/pf.err | tr '\n' '|')"
    fi
    host "RESULT $1 $(grep '^{' /tmp/pf.out | tail -n 1)"
}

# wire LABEL PKTFWD-ARGS...: the host's traffic crosses pktfwd io.
wire() {
    _l=$1
    shift
    pf_start "$_l" 2 -p "pci:$A" -p "pci:$B" --mode io "$@" || return
    case " $* " in
        *" --offload csum,rxcsum "*) _want="offloads csum,rxcsum" ;;
        *) _want="offloads none" ;;
    esac
    if [ "$(grep -c "$_want\$" /tmp/pf.err)" = 2 ]; then
        ck_pass "$_l: both ports say '$_want'"
    else
        ck_fail "$_l: both ports say '$_want'" "$(tr '\n' '|' </tmp/pf.err)"
    fi
    host "SYNC wire $_l"
    pf_wait "$_l" INT
}

# bind_both DRIVER KIND-A KIND-B: both NICs to DRIVER; uvio-devbind must
# call them modern, transitional or legacy as QEMU made them.
bind_both() {
    if uvio-devbind --bind "$1" "$A" "$B" >/tmp/bind.out 2>&1; then
        ck_pass "devbind: both NICs to $1"
    else
        ck_fail "devbind: both NICs to $1" "$(tr '\n' '|' </tmp/bind.out)"
        return 1
    fi
    uvio-devbind --status >/tmp/status.out 2>&1
    if grep -q "^$A  *net  *$2  *$1" /tmp/status.out &&
       grep -q "^$B  *net  *$3  *$1" /tmp/status.out; then
        ck_pass "devbind: A is $2, B is $3, both on $1"
    else
        ck_fail "devbind: A is $2, B is $3, both on $1" "$(tr '\n' '|' </tmp/status.out)"
    fi
}

# txonly from port A, counted on the host; rxonly on port A, fed by the host.
txrx() {
    host "SYNC count $TXN" || return
    # shellcheck disable=SC2046 # no --rate when TXRATE is 0
    pf_start "txonly" 1 -p "pci:$A" --mode txonly --count "$TXN" \
        $([ "$TXRATE" != 0 ] && echo "--rate $TXRATE") --flows 4 || return
    pf_wait txonly
    pf_start "rxonly" 1 -p "pci:$A" --mode rxonly --count "$RXN" --duration 30 || return
    host "SYNC inject $RXN" || return
    pf_wait rxonly
}

# Promiscuous mode and the VLAN filter: the host sends FLT frames to our
# MAC, FLT to a foreign unicast MAC and FLT tagged VLAN 100 to our MAC;
# with --vlan VLAN_ON: FLT to our MAC, FLT on VLAN_ON, 2*FLT on another.
filters() {
    for _p in off on; do
        pf_start "promisc $_p" 1 -p "pci:$A" --mode rxonly --promisc "$_p" || return
        host "SYNC filter $_p" || return
        pf_wait "promisc-$_p" INT
    done
    # QEMU applies the VLAN table only with promiscuous mode off.
    pf_start "vlan $VLAN_ON" 1 -p "pci:$A" --mode rxonly --promisc off --vlan "$VLAN_ON" || return
    pf_says "vlan $VLAN_ON" "VLAN filter: 1 VID added (device acked)" 1
    host "SYNC filter vlan" || return
    pf_wait "vlan-$VLAN_ON" INT
}

# set_link from QEMU's monitor, seen in the device's config STATUS.
link_state() {
    uvio-vmtest --bdf "$A" 2>&1 | sed -n 's/.*status \(link [a-z]*\).*/\1/p'
}
# vmtest_sees up|down: uvio-vmtest reads that link within 10 s.
vmtest_sees() {
    _i=0
    while _s=$(link_state) && [ "$_s" != "link $1" ] && [ $_i -lt 20 ]; do
        sleep 0.5
        _i=$((_i + 1))
    done
    if [ "$_s" = "link $1" ]; then
        ck_pass "link: $1 after QMP set_link $1"
    else
        ck_fail "link: $1 after QMP set_link $1" "still '$_s'"
    fi
}

# pf_sees LABEL TEXT: pktfwd's stderr gets a line with TEXT within 10 s.
pf_sees() {
    _i=0
    while ! grep -q "$2" /tmp/pf.err && [ $_i -lt 100 ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
    if grep -q "$2" /tmp/pf.err; then
        ck_pass "$1: pktfwd prints '$2' ($(grep -m 1 "$2" /tmp/pf.err))"
    else
        ck_fail "$1: pktfwd prints '$2'" "$(tail -n 3 /tmp/pf.err | tr '\n' '|')"
    fi
}

# The link as uvio-vmtest and pktfwd see it, through set_link down and up.
# uvio-vmtest needs the device to itself, so pktfwd is stopped before each
# of its reads: one pktfwd run sees the link go down, the next sees it
# come back.
link() {
    _s=$(link_state)
    if [ "$_s" = "link up" ]; then
        ck_pass "link: up at start (uvio-vmtest reads STATUS)"
    else
        ck_fail "link: up at start (uvio-vmtest reads STATUS)" "'$_s'"
    fi
    for _want in down up; do
        [ $_want = down ] && _was=up || _was=down
        pf_start "link $_was" 1 -p "pci:$A" --mode rxonly --stats-interval 0.5 || return
        pf_says "link $_was" "mtu 1500, link $_was" 1
        host "SYNC link $_want" || return
        pf_sees "link $_want" "port 0: link $_want"
        pf_wait "link-$_want" INT
        vmtest_sees $_want
    done
}

# phase NAME: run it unless PHASES (a debugging aid) leaves it out.
phase() {
    case " ${PHASES:-all} " in *" all "*|*" $1 "*) "$1" ;; esac
}
wire_csum() {
    wire "io csum off"
    wire "io csum on" --offload csum,rxcsum
}

# VFIO type1 behind intel-iommu: A modern split, B modern packed.
scen_vfio_type1() {
    bind_both vfio-pci modern modern || return
    ck "VFIO type1: A's group is $(vm_vfio_dev "$A")" test -c "/dev/vfio/$(vm_group "$A")"
    phase wire_csum
    phase txrx
    phase filters
    phase link
}

# VFIO no-IOMMU: A transitional split, B modern packed.
scen_vfio_noiommu() {
    if [ ! -e /sys/module/vfio/parameters/enable_unsafe_noiommu_mode ]; then
        ck_skip "VFIO no-IOMMU" "guest kernel $(uname -r) has no CONFIG_VFIO_NOIOMMU"
        return
    fi
    bind_both vfio-pci transitional modern || return
    ck "VFIO no-IOMMU: A's group is $(vm_vfio_dev "$A")" test -c "/dev/vfio/noiommu-$(vm_group "$A")"
    phase wire_csum
}

# UIO, no IOMMU: A legacy-only, B transitional packed.
scen_uio_legacy() {
    bind_both uio_pci_generic legacy transitional || return
    phase wire_csum
}

# 9000-byte MTU: host_mtu, mergeable rx buffers (pktfwd's are 2 KiB).
scen_jumbo() {
    bind_both vfio-pci modern modern || return
    pf_start "io jumbo" 2 -p "pci:$A" -p "pci:$B" --mode io || return
    pf_says "io jumbo" "mtu 9000"
    host "SYNC jumbo"
    pf_wait "io jumbo" INT
}

# 2 queue pairs on each NIC (multi-queue taps), one pktfwd thread each.
scen_mq() {
    bind_both vfio-pci modern modern || return
    pf_start "io 2 queues" 2 -p "pci:$A" -p "pci:$B" --mode io --queues 2 || return
    pf_says "io 2 queues" "2 queue pairs"
    host "SYNC mq"
    pf_wait "io 2 queues" INT
}

A=$(vm_bdf net0) B=$(vm_bdf net1)
pf=''
ctl_open
"scen_$SCEN"
host END
echo "CHECK-END"
true
