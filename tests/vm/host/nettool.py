#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host-side helpers of tests/vm/run-net (python3 standard library only).

Run each inside the network namespace it concerns (ip netns exec NS ...).
Every subcommand prints one line of JSON on stdout and exits 0 when what it
measured is what was wanted, 1 when not, 2 on a usage error.

  ping DST [-c N] [-s SIZE] [--df] [-i SECONDS] [-W SECONDS] [-v]
        ICMP echo through a raw socket, as ping(8) does; --df is
        'ping -M do': the kernel may not fragment, so the frame must fit
        the MTU. Exit 0 when every request got its reply.
  tcp-recv PORT [--streams K] [--timeout S] [--bind ADDR] [--stop-file F]
        accept K connections, read each to its end; sha256 per stream
  tcp-send ADDR PORT --bytes N [--streams K] [--seed S]
        send N bytes split over K parallel connections; the bytes are a
        function of (seed, stream), so both sides can name the sha256
  count IFNAME --want N [--timeout S] [--idle S]
        AF_PACKET: count pktfwd txonly frames (apps/pktfwd/frame.c) until N
        arrived, checking each frame's crc32c and sequence per flow;
        exit 0 when exactly N arrived, intact, in order, none dropped by
        the socket
  inject IFNAME --dst-mac M --count N [--rate PPS] [--vlan VID]
        [--src-mac M] [--flows F] [--size BYTES]
        AF_PACKET: send N pktfwd-format frames at PPS (0 = as fast as
        possible)
  qmp SOCK COMMAND [JSON-ARGS]
        one QMP command (set_link...), after the capabilities handshake
  expect JSON EXPR [--show EXPR2]
        evaluate the Python expression EXPR with j = the parsed JSON
        (pktfwd's summary); exit 0 when it is true; EXPR2's value is shown
"""
import argparse
import hashlib
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DO = 2

# ---- pktfwd's test frames (apps/pktfwd/frame.c, check.c) ----

ETH_HLEN, IP_HLEN, UDP_HLEN = 14, 20, 8
OFF_IP, OFF_UDP, OFF_PL = 14, 34, 42
PAYLOAD_HDR = 18
IP_ID_MAGIC = 0x7066
PAYLOAD_MAGIC = 0x5556


def _crc_table():
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        tab.append(c)
    return tab


CRC_TAB = _crc_table()


def crc32c(crc, data):
    """Chainable like pf_crc32c(): pass the previous result."""
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ CRC_TAB[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


def inet_sum(data, start=0):
    if len(data) & 1:
        data += b"\0"
    s = start + sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def inet_csum(data):
    return ~inet_sum(data) & 0xFFFF


def parse_mac(s):
    b = bytes(int(x, 16) for x in s.split(":"))
    if len(b) != 6:
        raise ValueError("bad MAC " + s)
    return b


def pf_frame(dst, src, size, flow, seq, vlan=None, src_ip="198.18.0.1",
             dst_ip="198.18.0.2", sport=1024, dport=1025):
    """One frame as pktfwd txonly makes it (size without FCS and tag)."""
    udp_len = size - OFF_UDP
    pl_len = udp_len - UDP_HLEN
    filler = bytes((i * 31 + 7) & 0xFF for i in range(PAYLOAD_HDR, pl_len))
    head = struct.pack("!HIQ", PAYLOAD_MAGIC, flow, seq)
    crc = crc32c(crc32c(0, filler), head)
    payload = head + struct.pack("!I", crc) + filler
    sip, dip = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    pseudo = sip + dip + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    ucs = inet_csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", ucs) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, IP_HLEN + udp_len, IP_ID_MAGIC,
                     0x4000, 64, 17, 0, sip, dip)
    ip = ip[:10] + struct.pack("!H", inet_csum(ip)) + ip[12:]
    l2 = dst + src
    if vlan is not None:
        l2 += struct.pack("!HH", 0x8100, vlan & 0xFFF)
    return l2 + b"\x08\x00" + ip + udp


def pf_parse(f):
    """(flow, seq) of an intact pktfwd frame; None if not one; 'corrupt'."""
    if (len(f) < OFF_PL + PAYLOAD_HDR or f[12:14] != b"\x08\x00" or
            f[OFF_IP] != 0x45 or f[OFF_IP + 9] != 17 or
            struct.unpack_from("!H", f, OFF_IP + 4)[0] != IP_ID_MAGIC or
            struct.unpack_from("!H", f, OFF_PL)[0] != PAYLOAD_MAGIC):
        return None
    ip_len = struct.unpack_from("!H", f, OFF_IP + 2)[0]
    udp_len = struct.unpack_from("!H", f, OFF_UDP + 4)[0]
    if (ip_len + OFF_IP > len(f) or udp_len + IP_HLEN != ip_len or
            udp_len < UDP_HLEN + PAYLOAD_HDR or
            inet_sum(bytes(f[OFF_IP:OFF_UDP])) != 0xFFFF):
        return "corrupt"
    udp = bytes(f[OFF_UDP:OFF_UDP + udp_len])
    if udp[6:8] != b"\0\0":
        pseudo = bytes(f[OFF_IP + 12:OFF_IP + 20]) + struct.pack("!BBH", 0, 17, udp_len)
        if inet_sum(pseudo + udp) != 0xFFFF:
            return "corrupt"
    pl = udp[UDP_HLEN:]
    crc = crc32c(crc32c(0, pl[PAYLOAD_HDR:]), pl[:14])
    if crc != struct.unpack_from("!I", pl, 14)[0]:
        return "corrupt"
    _, flow, seq = struct.unpack_from("!HIQ", pl, 0)
    return flow, seq


def out(obj, ok):
    obj["ok"] = bool(ok)
    print(json.dumps(obj, sort_keys=True), flush=True)
    return 0 if ok else 1


# ---- ping ----

def cmd_ping(a):
    dst = socket.gethostbyname(a.dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    if a.df:
        s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    ident = os.getpid() & 0xFFFF
    data = bytes(i & 0xFF for i in range(a.s))
    sent = got = 0
    errors = []
    rtts = []
    for seq in range(1, a.c + 1):
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = hdr + data
        pkt = pkt[:2] + struct.pack("!H", inet_csum(pkt)) + pkt[4:]
        t0 = time.monotonic()
        try:
            s.sendto(pkt, (dst, 0))
            sent += 1
        except OSError as e:             # EMSGSIZE with --df past the MTU
            errors.append("seq %d: %s" % (seq, e.strerror))
            time.sleep(a.i)
            continue
        deadline = t0 + a.W
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            r, addr = s.recvfrom(65536)
            ihl = (r[0] & 15) * 4
            if addr[0] != dst or len(r) < ihl + 8:
                continue
            typ, _, _, rid, rseq = struct.unpack_from("!BBHHH", r, ihl)
            if typ == 0 and rid == ident and rseq == seq:
                if r[ihl + 8:] == data:
                    got += 1
                    rtts.append((time.monotonic() - t0) * 1000)
                    if a.verbose:
                        print("%d bytes from %s: icmp_seq=%d ttl=%d time=%.1f ms"
                              % (len(r) - ihl, dst, seq, r[8], rtts[-1]), flush=True)
                else:
                    errors.append("seq %d: reply payload differs" % seq)
                break
        rest = a.i - (time.monotonic() - t0)
        if rest > 0 and seq < a.c:
            time.sleep(rest)
    return out({"dst": dst, "size": a.s, "df": a.df, "transmitted": sent,
                "received": got, "errors": errors[:4],
                "rtt_ms_avg": round(sum(rtts) / len(rtts), 2) if rtts else None},
               got == a.c)


# ---- TCP ----

def stream_bytes(seed, stream, n):
    """The deterministic content of one stream, in chunks."""
    rng = random.Random(seed * 1000003 + stream)
    left = n
    while left:
        k = min(left, 1 << 20)
        yield rng.randbytes(k)
        left -= k


def cmd_tcp_recv(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(a.streams)
    res = {}
    lock = threading.Lock()
    t_end = time.monotonic() + a.timeout

    def one(conn, peer):
        h = hashlib.sha256()
        n = 0
        conn.settimeout(max(1.0, t_end - time.monotonic()))
        try:
            while True:
                b = conn.recv(1 << 16)
                if not b:
                    break
                h.update(b)
                n += len(b)
        except OSError as e:
            with lock:
                res["%s:%d" % peer] = {"bytes": n, "error": str(e)}
            return
        with lock:
            res["%s:%d" % peer] = {"bytes": n, "sha256": h.hexdigest()}

    threads = []
    t0 = time.monotonic()
    ls.settimeout(0.5)
    try:
        while len(threads) < a.streams:
            if time.monotonic() > t_end:
                raise OSError("timed out")
            if a.stop_file and os.path.exists(a.stop_file):
                raise OSError("stopped: the sender gave up")
            try:
                c, peer = ls.accept()
            except socket.timeout:
                continue
            c.settimeout(None)
            t = threading.Thread(target=one, args=(c, peer))
            t.start()
            threads.append(t)
    except OSError as e:
        res["accept"] = {"error": str(e)}
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    total = sum(v.get("bytes", 0) for v in res.values())
    shas = sorted(v["sha256"] for v in res.values() if "sha256" in v)
    return out({"streams": len(threads), "bytes": total, "sha256": shas,
                "seconds": round(secs, 2),
                "mbit_s": round(total * 8 / secs / 1e6, 1) if secs else 0,
                "errors": [k + ": " + v["error"] for k, v in res.items() if "error" in v]},
               len(shas) == a.streams)


def cmd_tcp_send(a):
    per = [a.bytes // a.streams + (1 if i < a.bytes % a.streams else 0)
           for i in range(a.streams)]
    shas = [None] * a.streams
    errs = []

    def one(i):
        h = hashlib.sha256()
        try:
            s = socket.create_connection((a.addr, a.port), timeout=a.timeout)
            for chunk in stream_bytes(a.seed, i, per[i]):
                s.sendall(chunk)
                h.update(chunk)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(a.timeout)
            s.recv(1)                   # the receiver closes when done
            s.close()
            shas[i] = h.hexdigest()
        except OSError as e:
            errs.append("stream %d: %s" % (i, e))

    t0 = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(a.streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    return out({"streams": a.streams, "bytes": a.bytes,
                "sha256": sorted(x for x in shas if x), "seconds": round(secs, 2),
                "errors": errs}, not errs)


# ---- raw frames ----

def packet_socket(ifname, rcvbuf=64 << 20):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, rcvbuf)     # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((ifname, ETH_P_ALL))
    return s


def socket_drops(s):
    _, drops = struct.unpack("II", s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    return drops


def cmd_count(a):
    s = packet_socket(a.ifname)
    socket_drops(s)                     # reading the stats resets them
    if a.ready:
        open(a.ready, "w").close()
    flows = {}
    c = {"frames": 0, "received": 0, "lost": 0, "dup": 0, "reordered": 0,
         "corrupt": 0, "other": 0, "kernel_drops": 0}
    t0 = time.monotonic()
    first = last = None
    deadline = t0 + a.timeout
    while c["received"] < a.want or a.linger:
        now = time.monotonic()
        if now >= deadline:
            break
        if a.linger and c["received"] >= a.want:
            # after the last wanted frame, linger a little for extras
            if now - last >= a.linger:
                break
        wait = deadline - now
        if last is not None:
            wait = min(wait, a.idle - (now - last) if c["received"] < a.want else a.linger)
            if wait <= 0:
                break
        if not select.select([s], [], [], wait)[0]:
            if last is not None:
                break
            continue
        f, addr = s.recvfrom(65536)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        c["frames"] += 1
        r = pf_parse(f)
        if r is None:
            c["other"] += 1
            continue
        if r == "corrupt":
            c["corrupt"] += 1
            continue
        now = time.monotonic()
        if first is None:
            first = now
        last = now
        c["received"] += 1
        flow, seq = r
        nxt = flows.get(flow, 0)
        if seq == nxt:
            flows[flow] = seq + 1
        elif seq > nxt:
            c["lost"] += seq - nxt
            flows[flow] = seq + 1
        else:
            c["reordered"] += 1        # or a duplicate: either is a fault
    c["kernel_drops"] = socket_drops(s)
    c["flows"] = len(flows)
    c["seconds"] = round((last - first) if first is not None and last else 0, 3)
    c["pps"] = round(c["received"] / c["seconds"]) if c["seconds"] else None
    c["want"] = a.want
    ok = (c["received"] == a.want and not c["lost"] and not c["dup"] and
          not c["reordered"] and not c["corrupt"] and not c["kernel_drops"])
    return out(c, ok)


def cmd_inject(a):
    s = packet_socket(a.ifname, rcvbuf=1 << 16)
    dst = parse_mac(a.dst_mac)
    src = parse_mac(a.src_mac)
    frames = []
    seq = [0] * a.flows
    for i in range(a.count):
        fl = i % a.flows
        frames.append(pf_frame(dst, src, a.size, a.flow_base + fl, seq[fl],
                               vlan=a.vlan, sport=1024 + fl))
        seq[fl] += 1
    stat = "/sys/class/net/%s/statistics/tx_dropped" % a.ifname

    def dropped():
        with open(stat) as fh:
            return int(fh.read())

    drop0 = dropped()
    sent = 0
    t0 = time.monotonic()
    for i, f in enumerate(frames):
        if a.rate:
            due = t0 + i / a.rate
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
        while True:
            try:
                s.send(f)
                break
            except BlockingIOError:
                time.sleep(0.0001)
            except OSError as e:
                if e.errno == 105:      # ENOBUFS: the qdisc is full, retry
                    time.sleep(0.0005)
                    continue
                raise
        sent += 1
    secs = time.monotonic() - t0
    time.sleep(0.2)                     # the tap's queue drains into QEMU
    # The tap drops what QEMU did not read in time (its queue is full).
    tap_drops = dropped() - drop0
    return out({"sent": sent, "seconds": round(secs, 3),
                "pps": round(sent / secs) if secs else None, "vlan": a.vlan,
                "dst_mac": a.dst_mac, "tap_tx_dropped": tap_drops},
               sent == a.count)


# ---- QMP ----

def cmd_qmp(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(a.sock)
    f = s.makefile("rw")

    def reply():
        while True:
            line = f.readline()
            if not line:
                raise OSError("QMP closed the connection")
            m = json.loads(line)
            if "event" not in m:
                return m

    reply()                             # greeting
    f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
    f.flush()
    reply()
    cmd = {"execute": a.command}
    if a.args:
        cmd["arguments"] = json.loads(a.args)
    f.write(json.dumps(cmd) + "\n")
    f.flush()
    r = reply()
    return out({"command": a.command, "reply": r}, "return" in r)


def cmd_expect(a):
    try:
        j = json.loads(a.json)
    except ValueError as e:
        return out({"error": "not JSON: %s" % e, "text": a.json[:200]}, False)
    try:
        v = eval(a.expr, {"__builtins__": {"all": all, "any": any, "len": len,
                                           "sum": sum}}, {"j": j})
    except Exception as e:              # a missing key is a failed check
        return out({"error": "%s: %s" % (type(e).__name__, e)}, False)
    r = {"expr": a.expr}
    if a.show:
        try:
            r["show"] = eval(a.show, {"__builtins__": {}}, {"j": j})
        except Exception as e:
            r["show"] = "%s: %s" % (type(e).__name__, e)
    return out(r, v)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("ping")
    q.add_argument("dst")
    q.add_argument("-c", type=int, default=4)
    q.add_argument("-s", type=int, default=56)
    q.add_argument("-i", type=float, default=0.2)
    q.add_argument("-W", type=float, default=2.0)
    q.add_argument("--df", action="store_true")
    q.add_argument("-v", "--verbose", action="store_true",
                   help="a line per reply, as ping(8) prints")
    q.set_defaults(fn=cmd_ping)
    q = sub.add_parser("tcp-recv")
    q.add_argument("port", type=int)
    q.add_argument("--streams", type=int, default=1)
    q.add_argument("--timeout", type=float, default=120)
    q.add_argument("--bind", default="0.0.0.0")
    q.add_argument("--stop-file", help="stop waiting for connections once it exists")
    q.set_defaults(fn=cmd_tcp_recv)
    q = sub.add_parser("tcp-send")
    q.add_argument("addr")
    q.add_argument("port", type=int)
    q.add_argument("--bytes", type=int, required=True)
    q.add_argument("--streams", type=int, default=1)
    q.add_argument("--seed", type=int, default=1)
    q.add_argument("--timeout", type=float, default=120)
    q.set_defaults(fn=cmd_tcp_send)
    q = sub.add_parser("count")
    q.add_argument("ifname")
    q.add_argument("--want", type=int, required=True)
    q.add_argument("--timeout", type=float, default=60)
    q.add_argument("--idle", type=float, default=5,
                   help="give up this long after the last frame")
    q.add_argument("--linger", type=float, default=0.5,
                   help="after N frames, wait this long for extra ones")
    q.add_argument("--ready", help="create this file once listening")
    q.set_defaults(fn=cmd_count)
    q = sub.add_parser("inject")
    q.add_argument("ifname")
    q.add_argument("--dst-mac", required=True)
    q.add_argument("--src-mac", default="02:00:00:00:00:0a")
    q.add_argument("--count", type=int, required=True)
    q.add_argument("--rate", type=float, default=0)
    q.add_argument("--vlan", type=int)
    q.add_argument("--flows", type=int, default=1)
    q.add_argument("--flow-base", type=int, default=0x0A000000)
    q.add_argument("--size", type=int, default=64)
    q.set_defaults(fn=cmd_inject)
    q = sub.add_parser("qmp")
    q.add_argument("sock")
    q.add_argument("command")
    q.add_argument("args", nargs="?")
    q.set_defaults(fn=cmd_qmp)
    q = sub.add_parser("expect")
    q.add_argument("json")
    q.add_argument("expr")
    q.add_argument("--show", help="an expression whose value goes in the output")
    q.set_defaults(fn=cmd_expect)
    a = p.parse_args()
    sys.exit(a.fn(a))


if __name__ == "__main__":
    main()
