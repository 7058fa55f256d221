# Shared by the tests/host/run* suites (sourced): results, clean-up, waiting,
# hugepages and the qemu-storage-daemon export. The suite sets DIR (scratch)
# and QSD before calling these.

passed=0
failed=0
skipped=0
pids=()

log() { printf '%s\n' "$*" >&2; }
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $1"; }

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	sleep 0.3
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	[[ ${KEEP:-0} == 1 ]] || rm -rf "$DIR"
}
trap cleanup EXIT

finish() {
	if ((skipped)); then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	((failed == 0))
	exit
}

# Wait up to $2 seconds (default 10) for a condition (a command).
wait_for() {
	local cond=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		eval "$cond" && return 0
		sleep 0.05
	done
	return 1
}

# Reserve hugepages so that at least 512 x 2 MiB are free, mount hugetlbfs;
# fails (with a FAIL line) when fewer than 256 end up free.
reserve_hugepages() {
	local free
	free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	if ((free < 512)); then
		local total
		total=$(cat /proc/sys/vm/nr_hugepages)
		echo $((total + 512 - free)) >/proc/sys/vm/nr_hugepages
	fi
	if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
		mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages
	fi
	free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	((free >= 256)) || { fail "only $free hugepages free (need 256): echo 512 > /proc/sys/vm/nr_hugepages"; return 1; }
}

# qsd_start [BLOCKDEV]: the vhost-user-blk export, 2 queues, at $DIR/blk.sock,
# of BLOCKDEV (qemu-storage-daemon --blockdev options without node-name;
# default the file $DIR/blk.img).
qsd_start() {
	local bdev=${1:-driver=file,filename=$DIR/blk.img}
	rm -f "$DIR/blk.sock"
	"$QSD" --blockdev "$bdev,node-name=n0" \
		--export "type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path=$DIR/blk.sock,writable=on,num-queues=2" \
		>>"$DIR/qsd.log" 2>&1 &
	qsd_pid=$!
	pids+=($qsd_pid)
	wait_for "[[ -S '$DIR/blk.sock' ]]" 10
}

qsd_stop() {
	kill "$qsd_pid" 2>/dev/null
	wait "$qsd_pid" 2>/dev/null
}
