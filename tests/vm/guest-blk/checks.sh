# shellcheck shell=sh
# Guest side of tests/vm/run-blk (busybox ash): virtio-blk through pmd/blk
# and blkbench. Sourced after uvio-vm's funcs.sh with these set by the host:
#   SCEN     the scenario: one of the scen_* below
#   and the variables named above each scen_* function.
# Prints one "CHECK ok|fail|skip NAME[: detail]" line per check and
# "CHECK-END" when the scenario ran to its end; blkbench's output is echoed
# as "  | ..." lines for the log. Always exits 0: the host counts the lines.

oneline() { printf '%s\n' "$1" | tr -d '\r' | tail -n "${2:-4}" | tr '\n' '|'; }

# ck NAME CMD...: CMD must exit 0.
ck() {
    _n=$1; shift
    _o=$("$@" 2>&1)
    _rc=$?
    if [ "$_rc" = 0 ]; then ck_pass "$_n"; else ck_fail "$_n" "exit $_rc: $(oneline "$_o")"; fi
}

# run_bb BLKBENCH-ARGS...: run blkbench; stdout+stderr in $_o (and the
# log), exit status in $_rc.
run_bb() {
    _o=$(blkbench "$@" 2>&1)
    _rc=$?
    printf '%s\n' "$_o" | sed 's/^/  | /'
}

# bb NAME BLKBENCH-ARGS...: blkbench must exit 0.
bb() {
    _n=$1; shift
    run_bb "$@"
    if [ "$_rc" = 0 ]; then ck_pass "$_n"; else ck_fail "$_n" "blkbench exit $_rc: $(oneline "$_o")"; fi
}

# bb_fails NAME RC ERE...: the last run_bb exited RC and its output holds
# every ERE (each on some line).
bb_fails() {
    _n=$1 _want=$2; shift 2
    _miss=''
    for _re; do printf '%s\n' "$_o" | grep -Eq -- "$_re" || _miss="$_miss '$_re'"; done
    if [ "$_rc" = "$_want" ] && [ -z "$_miss" ]; then
        ck_pass "$_n"
    else
        ck_fail "$_n" "exit $_rc (wanted $_want), missing:$_miss; got: $(oneline "$_o" 8)"
    fi
}

# out_has NAME ERE: the output of the last run_bb holds ERE on some line.
out_has() { _rc_save=$_rc; _rc=0; bb_fails "$1" 0 "$2"; _rc=$_rc_save; }

# bb_refused NAME RC TEXT BLKBENCH-ARGS...: blkbench must exit RC, print
# nothing on stdout and exactly one error line, holding TEXT, on stderr
# (besides its "blkbench: pci:...: N bytes, block ..." device line).
bb_refused() {
    _n=$1 _want=$2 _t=$3; shift 3
    _out=$(blkbench "$@" 2>/tmp/bb.err)
    _rc=$?
    _e=$(grep -v '^blkbench: pci:[^ ]*: [0-9]* bytes, block ' /tmp/bb.err)
    _lines=$(printf '%s\n' "$_e" | grep -c .)
    sed 's/^/  | /' /tmp/bb.err
    if [ "$_rc" = "$_want" ] && [ "$_lines" = 1 ] && [ -z "$_out" ] &&
       printf '%s' "$_e" | grep -qF -- "$_t"; then
        ck_pass "$_n"
    else
        ck_fail "$_n" "exit $_rc (wanted $_want), $_lines error lines: $(oneline "$_e") stdout: $(oneline "$_out" 2) (wanted: $_t)"
    fi
}

bind() {   # bind vfio|vfio-noiommu|uio BDF...
    _d=$1; shift
    case $_d in uio) _d=uio_pci_generic ;; *) _d=vfio-pci ;; esac
    uvio-devbind --bind "$_d" "$@"
}

# Data lands intact: bind, check the path uvio takes (driver, interface,
# ring, IOVA), write every block of the device once with --verify stamps in
# random order, then read every block back in random order and check it.
# The host then runs blkcheck on the image.
data_dev() {   # data_dev ID MODE DRIVER IFACE RING IOVA QUEUES SEED BS
    _id=$1 _mode=$2 _drv=$3 _if=$4 _ring=$5 _iova=$6 _q=$7 _seed=$8 _bs=$9
    _b=$(vm_bdf "$_id")
    _what="$_id ($_drv, $_mode, $_ring ring, IOVA $_iova"
    [ "$_q" -gt 1 ] && _what="$_what, $_q queues"
    _qd=$((16 / _q))
    # Large I/Os (with IOVA = PA a buffer spans hugepages, which uvio must
    # split into physically contiguous segments): 4 in flight, not 16.
    [ "$_bs" != 4k ] && _what="$_what, bs $_bs" && _qd=4
    _what="$_what)"
    ck "$_what: bind" bind "$_drv" "$_b"
    ck "$_what: uvio opens it on that path" \
        uvio-vmtest -q --bdf "$_b" --expect-driver "$_drv" --expect-iface "$_if" \
        --expect-ring "$_ring" --expect-iova "$_iova"
    bb "$_what: randwrite --verify, whole device" -d "pci:$_b" --rw randwrite --verify \
        --seed "$_seed" --queues "$_q" --iodepth "$_qd" --bs "$_bs"
    bb "$_what: randread --verify, whole device" -d "pci:$_b" --rw randread --verify \
        --seed "$_seed" --queues "$_q" --iodepth "$_qd" --bs "$_bs"
    if [ "$_q" -gt 1 ]; then
        out_has "$_what: blkbench ran $_q queues of the device's $_q" "bytes, block [0-9]+, $_q/$_q queues"
    fi
}

# DEVS   data devices, "ID:MODE:DRIVER:IFACE:RING:IOVA:QUEUES:SEED:BS ..."
#        (MODE modern|transitional|legacy as QEMU was told; DRIVER and
#        IFACE as uvio-vmtest names them: vfio|vfio-noiommu|uio, modern|legacy)
scen_data() {
    if [ "$UVIO_VM_IOMMU" = noiommu ] &&
       [ ! -e /sys/module/vfio/parameters/enable_unsafe_noiommu_mode ]; then
        ck_fail "VFIO no-IOMMU" "guest kernel $(uname -r) has no CONFIG_VFIO_NOIOMMU (uvio-vm builds vfio-noiommu.ko from linux-source-6.1 and linux-headers-$(uname -r))"
        return
    fi
    for _d in $DEVS; do
        _old_ifs=$IFS; IFS=:
        # shellcheck disable=SC2086  # split on ':'
        set -- $_d
        IFS=$_old_ifs
        data_dev "$@"
    done
}

# Every request type, on device "ops" (serial $SERIAL, discard=unmap on
# its drive, 64 sectors per WRITE_ZEROES/DISCARD at most) and device
# "short" (serial $SERIAL2). The host then runs
# blkcheck --expect-zero on WZ1, WZ2 and DISC (OFF:LEN in bytes each).
#   SERIAL SERIAL2 SEED WZ1 WZ2 DISC
scen_requests() {
    B=$(vm_bdf ops)
    ck "bind ops and short" bind vfio "$B" "$(vm_bdf short)"
    bb "FLUSH succeeds" -d "pci:$B" --op flush
    bb "randwrite --verify, whole device, a FLUSH after every 64 writes" -d "pci:$B" \
        --rw randwrite --verify --seed "$SEED" --iodepth 8 --flush-every 64
    out_has "  ... and blkbench counted the FLUSHes" 'flushes [1-9][0-9]*, in'
    # The device takes 32 KiB (64 sectors) per request: uvio splits.
    bb "WRITE_ZEROES at ${WZ1%:*}, ${WZ1#*:} bytes ($((${WZ1#*:} >> 15)) requests)" -d "pci:$B" \
        --op write-zeroes --offset "${WZ1%:*}" --size "${WZ1#*:}"
    bb "WRITE_ZEROES with the unmap flag at ${WZ2%:*}, ${WZ2#*:} bytes ($((${WZ2#*:} >> 15)) requests)" \
        -d "pci:$B" --op write-zeroes --unmap --offset "${WZ2%:*}" --size "${WZ2#*:}"
    bb "DISCARD at ${DISC%:*}, ${DISC#*:} bytes ($((${DISC#*:} >> 15)) requests) is accepted" \
        -d "pci:$B" --op discard --offset "${DISC%:*}" --size "${DISC#*:}"
    run_bb -d "pci:$B" --rw read --verify --seed "$SEED" --offset "${WZ1%:*}" \
        --size "${WZ1#*:}" --iodepth 4
    bb_fails "the guest reads the WRITE_ZEROES range back as zeros (every block fails verify)" 1 \
        "^verify: +$((${WZ1#*:} / 4096)) failures, $((${WZ1#*:} / 4096)) units" "all zeros"
    run_bb -d "pci:$B" --op get-id
    bb_fails "GET_ID returns the serial QEMU was given ('$SERIAL', ${#SERIAL} bytes: no NUL)" 0 \
        "^id: $SERIAL\$"
    run_bb -d "pci:$(vm_bdf short)" --op get-id
    bb_fails "GET_ID, a short serial ('$SERIAL2')" 0 "^id: $SERIAL2\$"
    run_bb -d "pci:$(vm_bdf short)" --op get-id --json
    bb_fails "GET_ID --json" 0 "\"op\":\"get-id\",\"status\":\"ok\".*\"id\":\"$SERIAL2\".*\"ok\":true}"
}

# Failures are reported.
#   device "ro":  read-only drive; the host wrote it with seed ROSEED
#   device "err": blkdebug drive; the host wrote it with seed ESEED; reads
#                 of byte RERR and writes of byte WERR fail with EIO
#   CAP           both devices' capacity in bytes;  WSEED  a new seed
scen_failures() {
    R=$(vm_bdf ro) E=$(vm_bdf err)
    _blocks=$((CAP / 4096))
    ck "bind ro and err" bind vfio "$R" "$E"
    # read-only
    bb "ro: reads work (randread --verify of what the host wrote)" -d "pci:$R" \
        --rw randread --verify --seed "$ROSEED" --iodepth 8
    out_has "ro: blkbench says the device is read-only" ', read-only'
    bb_refused "ro: randwrite is refused" 2 "--rw randwrite: the device is read-only" \
        -d "pci:$R" --rw randwrite --verify
    bb_refused "ro: randrw is refused" 2 "--rw randrw: the device is read-only" \
        -d "pci:$R" --rw randrw --io-count 10
    bb_refused "ro: WRITE_ZEROES is refused (EROFS)" 1 "write-zeroes failed: EROFS" \
        -d "pci:$R" --op write-zeroes --offset 0 --size 4096
    bb_refused "ro: DISCARD is refused (EROFS)" 1 "discard failed: EROFS" \
        -d "pci:$R" --op discard --offset 0 --size 4096
    # past capacity
    bb_refused "capacity: --offset at the end" 2 "--offset $CAP is past the end of the device ($CAP bytes)" \
        -d "pci:$E" --rw randread --offset "$CAP" --io-count 1
    bb_refused "capacity: --size one block too big" 2 "--offset + --size ($((CAP + 4096))) is past the end of the device" \
        -d "pci:$E" --rw read --size $((CAP + 4096)) --io-count 1
    bb_refused "capacity: --offset + --size one block past the end" 2 "--offset + --size ($((CAP + 4096))) is past the end" \
        -d "pci:$E" --rw write --offset $((CAP - 4096)) --size 8192 --io-count 1
    bb_refused "capacity: --op write-zeroes past the end" 2 "--offset + --size ($((CAP + 512))) is past the end" \
        -d "pci:$E" --op write-zeroes --offset $((CAP - 512)) --size 1024
    bb_refused "capacity: --op discard at the end" 2 "--offset $CAP is past the end" \
        -d "pci:$E" --op discard --offset "$CAP" --size 512
    ck "capacity: the device itself answers IOERR to a READ at the end (a raw request, uvio-vmtest)" \
        uvio-vmtest -q --bdf "$E" --read "$((CAP / 512)):x" --expect-error "device returned status 1"
    # injected I/O errors (blkdebug)
    run_bb -d "pci:$E" --rw read --verify --seed "$ESEED" --iodepth 4 --json
    bb_fails "EIO: a read error at byte $RERR is one EIO in --json (fio's read.total_ios counts it, io_bytes not), the other $((_blocks - 1)) reads verify, exit 1" 1 \
        '"errors":\{"total":1,"EIO":1\}' "\"read\":\{\"io_bytes\":$(((_blocks - 1) * 4096)),[^}]*\"total_ios\":$_blocks," '"checked":'$((_blocks - 1))',"failures":0' '"ok":false\}' \
        "^blkbench: queue 0: read at offset $((RERR / 4096 * 4096)) failed: EIO\$"
    run_bb -d "pci:$E" --rw randread --verify --seed "$ESEED" --iodepth 16
    bb_fails "EIO: the text report counts it ('errors: 1 (EIO 1)', 'result: FAIL'), iodepth 16, exit 1" 1 \
        '^errors: +1 \(EIO 1\)$' '^result: +FAIL$'
    run_bb -d "pci:$E" --rw randwrite --verify --seed "$WSEED" --iodepth 16 --json
    bb_fails "EIO: a write error at byte $WERR is one EIO, all $_blocks writes complete, exit 1" 1 \
        '"errors":\{"total":1,"EIO":1\}' "\"write\":\{\"io_bytes\":$(((_blocks - 1) * 4096)),[^}]*\"total_ios\":$_blocks," \
        "^blkbench: queue 0: write at offset $WERR failed: EIO\$"
    bb "EIO: the device still works afterwards (FLUSH)" -d "pci:$E" --op flush
}

"scen_$SCEN"
echo "CHECK-END"
true
