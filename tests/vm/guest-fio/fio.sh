# shellcheck shell=sh
# Guest side of tests/vm/run-fio (busybox ash): fio with uvio's ioengine
# over VFIO, on the virtio-blk device with uvio-vm id "fio0". Sourced after
# uvio-vm's funcs.sh with SEED and SIZE set by the host. Prints one
# "CHECK ok|fail NAME" line per check and "CHECK-END"; fio's output is
# echoed as "  | ..." lines. The host then verifies the image with fio's
# psync engine.

# ufio NAME FIO-ARGS...: fio through the engine must exit 0.
ufio() {
    _n=$1; shift
    _o=$(fio --name=vm --thread=1 --ioengine=external:/uvio/uvio-fio.so \
        --filename="$DEV" --randseed="$SEED" --verify_state_save=0 "$@" 2>&1)
    _rc=$?
    printf '%s\n' "$_o" | sed 's/^/  | /'
    if [ "$_rc" = 0 ]; then
        ck_pass "$_n"
    else
        ck_fail "$_n" "fio exit $_rc: $(printf '%s\n' "$_o" | grep -m2 -E 'uvio:|fio:|verify' | tr '\n' '|')"
    fi
}

B=$(vm_bdf fio0)
# fio splits filename= on ':': each one of the DEV is escaped.
DEV="pci\\:$(echo "$B" | sed 's/:/\\:/g')"
if uvio-devbind --bind vfio-pci "$B" >/tmp/bind.out 2>&1; then
    ck_pass "bind $B to vfio-pci"
else
    ck_fail "bind $B to vfio-pci" "$(tr '\n' '|' </tmp/bind.out)"
fi
JOB="--rw=randwrite --bs=4k --iodepth=16 --iodepth_batch=8 --size=$SIZE --verify=crc32c"
# shellcheck disable=SC2086  # JOB is words
ufio "fio randwrite verify=crc32c over $SIZE through the engine ($DEV)" $JOB
# shellcheck disable=SC2086
ufio "fio verify_only=1 of the same job" $JOB --verify_only=1
echo CHECK-END
