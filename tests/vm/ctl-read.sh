# shellcheck shell=bash
# ctl_read FD: the next whole line the guest wrote to its control serial
# port, in $line; false when none came within a second. A long line (a
# pktfwd JSON summary) can take longer than that through the emulated UART,
# and read -t hands back the part it got: that part is kept for the next
# call, not dropped (it once turned a RESULT line into an unknown message).
ctl_partial=''
ctl_read() {
	local part='' rc
	IFS= read -r -t 1 part <&"$1"
	rc=$?
	if ((rc == 0)); then
		# shellcheck disable=SC2034 # $line is the caller's
		line=$ctl_partial$part
		ctl_partial=''
		return 0
	fi
	((rc > 128)) && ctl_partial+=$part  # timed out mid-line
	return 1
}
