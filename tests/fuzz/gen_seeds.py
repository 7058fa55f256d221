#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

Each seed is one scenario of the unit tests (tests/unit/test_vring*.c,
test_blk_*.c, test_net_*.c), above all their misbehaving devices, spelled in
the byte format the target reads (see each target's source: the order of
the fin_*() reads). The fuzzer starts from these and mutates.

    python3 tests/fuzz/gen_seeds.py        # rewrites tests/fuzz/corpus/
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def u8(v): return struct.pack("<B", v & 0xff)
def u16(v): return struct.pack("<H", v & 0xffff)
def u32(v): return struct.pack("<I", v & 0xffffffff)
def u64(v): return struct.pack("<Q", v & 0xffffffffffffffff)
def BIT(n): return 1 << n


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_split / fuzz_packed (fuzz_vring.h) --------------------------------

F_EVENT_IDX, F_INDIRECT, F_IN_ORDER, F_NOTIF, F_ORDER_PLATFORM = 1, 2, 4, 8, 16


class Ring:
    """Builds an fv_run() input: header, then operations."""

    def __init__(self, packed, feat=0, size_code=2, ind=0):
        self.packed, self.feat = packed, feat
        self.b = u8(feat) + u8(size_code) + u8(ind) + u16(0)

    def add(self, n_out=1, n_in=1, lens=None, raw=False):
        shape = (n_out & 7) | (n_in & 7) << 3 | (0x80 if raw else 0)
        self.b += u8(0) + u8(shape)
        for i in range(n_out + n_in):
            self.b += u16(lens[i] if lens else 63)   # len % 512 + 1 = 64
        return self

    def kick(self): self.b += u8(3); return self
    def get(self, mx=8): self.b += u8(4 | ((mx - 1) << 4)); return self
    def pop(self): self.b += u8(6); return self

    def push(self, pick=0, how=0, v=0):
        self.b += u8(7)
        if not self.feat & F_IN_ORDER:
            self.b += u8(pick)
        self.b += u8(how) + u32(v)
        return self

    def batch(self, n, how=0, v=0):
        self.b += u8(9) + u8(n - 1) + u8(how) + u32(v)
        return self

    def enable_cb(self): self.b += u8(10); return self
    def disable_cb(self): self.b += u8(11); return self

    def evil(self, what, pick=0):
        self.b += u8(12) + u8(what) + u8(pick)
        return self

    def raw_split(self, sub, k, *vals):
        self.b += u8(13 | sub << 4) + u16(k) + b"".join(vals)
        return self

    def broken(self): self.b += u8(0xff); return self

    def kick_mode(self, m, ahead=0):
        self.b += u8(15) + u8(m) + u8(ahead)
        return self


EVIL_ID_RANGE, EVIL_NOT_IN_FLIGHT, EVIL_DOUBLE, EVIL_LEN, EVIL_IDX_JUMP, EVIL_BAD_WRAP = range(6)


def ring_seeds(packed):
    t = "fuzz_packed" if packed else "fuzz_split"
    size = 2  # split: 4 entries; packed: 3
    feats = {
        "plain": 0, "event_idx": F_EVENT_IDX, "indirect": F_INDIRECT,
        "in_order": F_IN_ORDER, "all": F_EVENT_IDX | F_INDIRECT | F_IN_ORDER | F_NOTIF,
    }
    for name, f in feats.items():
        r = Ring(packed, f, size, 4)
        for _ in range(3):
            r.add(1, 1).add(2, 2).kick().pop().push().push().get().enable_cb().disable_cb()
        write(t, "basic-" + name, r.b)
    # IN_ORDER batches: one used entry for several buffers (test_vring_order.c)
    r = Ring(packed, F_IN_ORDER | F_EVENT_IDX, 3, 0)
    for _ in range(4):
        r.add(1, 1).add(1, 2).add(1, 1).kick().pop().batch(3).get().get()
    write(t, "in-order-batch", r.b)
    # wrap-around on a tiny ring, out of order (split 2 entries / packed 1)
    r = Ring(packed, F_EVENT_IDX, 1, 0)
    for i in range(8):
        r.add(1, 0).add(0, 1).kick().pop().push(pick=1).push().get()
    write(t, "wrap-out-of-order", r.b)
    # chains longer than the ring, indirect and not
    write(t, "long-chains", Ring(packed, F_INDIRECT, 1, 8).add(4, 4).add(3, 0).kick()
          .pop().push().get().b)
    # event suppression: the device asks for a kick at one place, or never
    r = Ring(packed, F_EVENT_IDX | F_NOTIF, 3, 0).kick_mode(2, 3)
    for _ in range(6):
        r.add().kick()
    write(t, "kick-at", r.pop().push().push().get().kick_mode(1).add().kick().b)
    # the misbehaving devices of test_vring_evil.c
    evils = [("id-range", EVIL_ID_RANGE), ("id-not-in-flight", EVIL_NOT_IN_FLIGHT),
             ("double", EVIL_DOUBLE), ("len", EVIL_LEN)]
    evils += [("bad-wrap", EVIL_BAD_WRAP)] if packed else [("idx-jump", EVIL_IDX_JUMP)]
    for name, what in evils:
        r = Ring(packed, F_EVENT_IDX, size, 0).add().add().kick().pop()
        if what == EVIL_DOUBLE:
            r.push().get()
        write(t, "evil-" + name, r.evil(what, 1).get().add().get().b)
        write(t, "evil-in-order-" + name, Ring(packed, F_IN_ORDER, size, 0).add().add()
              .add().kick().pop().evil(what, 2).get().b)
    # a used length past the writable bytes, given as a lie
    write(t, "len-lie", Ring(packed, 0, size, 0).add(1, 1).kick().pop()
          .push(how=3, v=0xffffff).get().b)
    # raw stores into what the device owns
    if packed:
        # a used descriptor with a wrong wrap / an id in flight / any flags
        b = Ring(packed, 0, size, 0).add().add().kick().pop()
        b.b += u8(13) + u16(0) + u8(0x03) + u8(1) + u32(1) + u32(8)     # AVAIL|USED, id 1
        b.get()
        b.b += u8(13) + u16(1) + u8(0x01) + u8(1) + u32(0) + u32(0)     # AVAIL only
        write(t, "raw-desc", b.get().b)
        b = Ring(packed, F_EVENT_IDX, size, 0)
        b.b += u8(13 | 2 << 4) + u16(0) + u16(0x8001)                  # off_wrap
        b.b += u8(13 | 3 << 4) + u16(0) + u16(2)                       # flags DESC
        write(t, "raw-event", b.add().kick().add().kick().b)
    else:
        b = Ring(packed, 0, size, 0).add().add().kick().pop()
        b.raw_split(0, 0, u8(1), u32(2), u32(64))       # used[0] = id 2, len 64
        b.raw_split(2, 0, u16(1))                       # used idx + 1
        write(t, "raw-used", b.get().get().b)
        b = Ring(packed, F_EVENT_IDX, size, 0)
        b.raw_split(4, 0, u16(0xffff))                  # avail_event far away
        b.raw_split(3, 0, u16(1))                       # NO_NOTIFY
        write(t, "raw-suppression", b.add().kick().add().kick().b)
    # the device goes away
    write(t, "set-broken", Ring(packed, 0, size, 0).add().kick().pop().broken()
          .get().add().b)


# ---- fuzz_config -------------------------------------------------------------

VERSION_1, RING_PACKED, IN_ORDER, INDIRECT, EVENT_IDX = BIT(32), BIT(34), BIT(35), BIT(28), BIT(29)
BLK = dict(SIZE_MAX=1, SEG_MAX=2, GEOMETRY=4, RO=5, BLK_SIZE=6, FLUSH=9, TOPOLOGY=10,
           CONFIG_WCE=11, MQ=12, DISCARD=13, WRITE_ZEROES=14, SECURE_ERASE=16)
NET = dict(CSUM=0, GUEST_CSUM=1, MTU=3, MAC=5, GUEST_TSO4=7, GUEST_TSO6=8, HOST_TSO4=11,
           HOST_TSO6=12, MRG_RXBUF=15, STATUS=16, CTRL_VQ=17, CTRL_RX=18, CTRL_VLAN=19,
           GUEST_ANNOUNCE=21, MQ=22, CTRL_MAC_ADDR=23, RSS=60)


def blk_feat(*names): return sum(BIT(BLK[n]) for n in names)
def net_feat(*names): return sum(BIT(NET[n]) for n in names)


def blk_config(capacity=8192, size_max=0, seg_max=0, blk_size=0, num_queues=1,
               max_discard=0, max_wz=0):
    c = bytearray(72)
    c[0:8] = u64(capacity)
    c[8:12] = u32(size_max)
    c[12:16] = u32(seg_max)
    c[20:24] = u32(blk_size)
    c[34:36] = u16(num_queues)
    c[36:40] = u32(max_discard)
    c[40:44] = u32(1)
    c[48:52] = u32(max_wz)
    c[52:56] = u32(1)
    return bytes(c)


def net_config(pairs=1, mtu=1500, key=40, table=128, hashes=0x3f):
    c = bytearray(24)
    c[0:6] = b"\x52\x54\x00\x12\x34\x56"
    c[6:8] = u16(1)
    c[8:10] = u16(pairs)
    c[10:12] = u16(mtu)
    c[12:16] = u32(10000)
    c[16] = 1
    c[17] = key
    c[18:20] = u16(table)
    c[20:24] = u32(hashes)
    return bytes(c)


def transport(features, config, ctl=0, nq=4, qmax=256, per_queue=(), extra=b""):
    b = u8(ctl) + u64(features) + u8(nq) + u16(qmax) + u8(len(per_queue))
    for q, m in per_queue:
        b += u8(q) + u16(m)
    return b + extra + config


def blk_case(features, config, ctl=0, nq=4, qmax=256, per_queue=(), extra=b"", status=0,
             queues=1, qsize=0, ops=(), churn=None, post=b""):
    b = u8(0) + transport(features, config, ctl, nq, qmax, per_queue, extra) + post
    b += u8(status) + u8(queues) + u16(qsize) + u8(0)
    b += (u8(1) + u8(churn)) if churn is not None else u8(0)
    return b + u8(len(ops)) + b"".join(ops)


def blk_ops():
    """read, write, flush, get_id, discard, write_zeroes (unmap), writeback on:
    queue, offset, length, kind (+ one byte for the last two)."""
    return [u8(0) + u8(1) + u8(1) + u8(kind) + (u8(1) if kind >= 5 else b"")
            for kind in range(7)]


def net_case(features, config, ctl=0, nq=5, qmax=256, per_queue=(), extra=b"", ack=0,
             pairs=1, rxq=0, txq=0, offloads=0, no_mrg=0, ops=(), churn=None, post=b""):
    b = u8(1) + transport(features, config, ctl, nq, qmax, per_queue, extra) + post
    b += u8(ack) + u8(pairs) + u16(rxq) + u16(txq) + u8(offloads) + u8(no_mrg) + u8(0)
    b += (u8(1) + u8(churn)) if churn is not None else u8(0)
    return b + u8(len(ops)) + b"".join(ops)


def net_ops():
    """pair, count, kind: tx burst, rx burst, promisc (+ on), queue pairs (+ n)."""
    return [u8(0) + u8(3) + u8(0), u8(0) + u8(3) + u8(1), u8(0) + u8(0) + u8(2) + u8(1),
            u8(0) + u8(0) + u8(3) + u8(1)]


def config_seeds():
    t = "fuzz_config"
    rich = blk_feat("SIZE_MAX", "SEG_MAX", "GEOMETRY", "BLK_SIZE", "FLUSH", "TOPOLOGY",
                    "CONFIG_WCE", "MQ", "DISCARD", "WRITE_ZEROES") | INDIRECT | EVENT_IDX
    write(t, "blk-rich", blk_case(rich, blk_config(8192, 65536, 126, 512, 2, 64, 64),
                                  queues=2, ops=blk_ops()))
    write(t, "blk-packed-in-order", blk_case(rich | RING_PACKED | IN_ORDER,
                                             blk_config(8192, 4096, 4, 4096, 1), ops=blk_ops()))
    write(t, "blk-minimal", blk_case(0, blk_config(), ctl=2, ops=blk_ops()))
    for name, bs in (("zero", 0), ("odd", 1000), ("huge", 1 << 20), ("256", 256)):
        write(t, "blk-blk-size-" + name, blk_case(blk_feat("BLK_SIZE"), blk_config(blk_size=bs),
                                                  ops=blk_ops()))
    write(t, "blk-capacity-huge", blk_case(0, blk_config(capacity=1 << 63), ops=blk_ops()))
    write(t, "blk-capacity-zero", blk_case(0, blk_config(capacity=0), ops=blk_ops()))
    for name, sm, sg in (("zero", 0, 0), ("tiny", 511, 1), ("odd", 4097, 3),
                         ("huge", 0xffffffff, 0xffffffff)):
        write(t, "blk-limits-" + name, blk_case(blk_feat("SIZE_MAX", "SEG_MAX"),
                                                blk_config(size_max=sm, seg_max=sg), ops=blk_ops()))
    for name, n in (("zero", 0), ("huge", 0xffff)):
        write(t, "blk-num-queues-" + name, blk_case(blk_feat("MQ"), blk_config(num_queues=n),
                                                    queues=4, ops=blk_ops()))
    write(t, "blk-queue-max-odd", blk_case(0, blk_config(), qmax=3, per_queue=((0, 1),),
                                           ops=blk_ops()))
    write(t, "blk-queue-max-huge", blk_case(RING_PACKED, blk_config(), qmax=32768, ops=blk_ops()))
    write(t, "blk-no-queues", blk_case(0, blk_config(), nq=0))
    write(t, "blk-legacy", blk_case(blk_feat("FLUSH"), blk_config(), ctl=0xc0, qmax=128,
                                    ops=blk_ops()))
    write(t, "blk-refuse-features", blk_case(rich, blk_config(), ctl=4, extra=u64(INDIRECT)))
    write(t, "blk-needs-reset", blk_case(0, blk_config(), ctl=8, extra=u8(4)))
    write(t, "blk-reset-fails", blk_case(0, blk_config(), ctl=0x30, extra=u8(1)))
    write(t, "blk-config-churn", blk_case(rich, blk_config(), churn=150))
    write(t, "blk-short-config", blk_case(rich, blk_config(), ctl=0x20, post=u8(20)))
    write(t, "blk-status-ioerr", blk_case(blk_feat("FLUSH"), blk_config(), status=1,
                                          ops=blk_ops()))
    nrich = net_feat("CSUM", "GUEST_CSUM", "MTU", "MAC", "GUEST_TSO4", "GUEST_TSO6",
                     "HOST_TSO4", "HOST_TSO6", "MRG_RXBUF", "STATUS", "CTRL_VQ", "CTRL_RX",
                     "CTRL_VLAN", "MQ", "CTRL_MAC_ADDR", "RSS") | INDIRECT | EVENT_IDX
    write(t, "net-rich", net_case(nrich, net_config(2), nq=5, pairs=2, offloads=0x1f,
                                  ops=net_ops()))
    write(t, "net-packed", net_case(nrich | RING_PACKED | IN_ORDER, net_config(2), nq=5,
                                    pairs=2, ops=net_ops()))
    write(t, "net-minimal", net_case(0, net_config(), nq=2, ctl=2, ops=net_ops()))
    for name, mtu in (("zero", 0), ("67", 67), ("68", 68), ("huge", 65535)):
        write(t, "net-mtu-" + name, net_case(net_feat("MTU", "MRG_RXBUF"), net_config(mtu=mtu),
                                             ops=net_ops()))
    write(t, "net-mtu-no-mrg", net_case(net_feat("MTU"), net_config(mtu=9000), no_mrg=1))
    for name, p in (("zero", 0), ("max", 0x8000), ("over", 0x8001), ("many", 40)):
        write(t, "net-pairs-" + name, net_case(net_feat("CTRL_VQ", "MQ"), net_config(p),
                                               nq=81, pairs=4, ops=net_ops()))
    write(t, "net-rss-sizes", net_case(net_feat("CTRL_VQ", "MQ", "RSS"),
                                       net_config(2, key=0, table=0xffff, hashes=0), nq=5,
                                       pairs=2, offloads=0x10))
    write(t, "net-ctrl-nak", net_case(net_feat("CTRL_VQ", "MQ", "CTRL_RX"), net_config(2),
                                      nq=5, pairs=2, ack=1, ops=net_ops()))
    write(t, "net-legacy", net_case(net_feat("MRG_RXBUF", "MAC"), net_config(), ctl=0xc0,
                                    nq=3, qmax=64, ops=net_ops()))
    write(t, "net-queue-max-tiny", net_case(net_feat("CTRL_VQ", "MQ"), net_config(2), nq=5,
                                            qmax=1, pairs=2, per_queue=((4, 2),)))
    write(t, "net-short-config", net_case(nrich, net_config(), ctl=0x20, post=u8(9)))


# ---- fuzz_net_rx ---------------------------------------------------------------

def net_rx_open(ctl, ctl2=0, sz=3, mtu=None):
    b = u8(ctl) + u8(ctl2) + u8(sz)
    if ctl2 & 4:
        b += u16(mtu - 68)
    return b


def pair_op(base, pair):
    """An op byte: op % 10 is the operation, op >> 7 the queue pair."""
    return u8(130 + base if pair else base)


def rx_frame(k, flags=0, gso=0, num=None, lens=(), raw_hdr=None, pair=0, in_order=False):
    """An rx frame over k buffers; lens: per buffer (how, value) for fin_len."""
    op = pair_op(0, pair)
    mode = 0
    if raw_hdr is not None:
        mode = 1
    else:
        mode = (flags & 3) << 1 | (gso & 3) << 3 | (0x20 if num is not None else 0)
    b = op + u8(mode) + u8(k - 1)
    if raw_hdr is not None:
        b += raw_hdr
    else:
        b += u16(1448) + u16(34) + u16(16)
        if num is not None:
            b += u16(num)
    for i in range(k):
        if not in_order:
            b += u8(0)   # which pending buffer
        how, v = lens[i] if i < len(lens) else (1, 200)
        b += u8(how) + u32(v)
    return b


def rx_burst(n=32, pair=0): return pair_op(3, pair) + u8(n - 1)
def tx_burst(n=4, shape=0, pair=0): return pair_op(5, pair) + u8(n - 1) + u8(shape) + u16(500) * n
def tx_complete(n=8, pair=0): return pair_op(6, pair) + u8(n) + u8(0) * n
def net_evil(tx, what, pick=0): return u8(7) + u8((what << 1) | tx) + u8(pick)


MRG, LRO, TSO, HOLD = 0x20, 0x40, 2, 0x80


def net_rx_seeds():
    t = "fuzz_net_rx"
    base = [("split", 0), ("packed", 1), ("split-in-order", 2), ("packed-in-order", 3)]
    for name, ring in base:
        io = bool(ring & 2)
        write(t, "mrg-" + name, net_rx_open(ring | MRG | LRO, TSO) + rx_frame(1, in_order=io) +
              rx_frame(3, gso=1, lens=((1, 300), (0, 0), (1, 9)), in_order=io) + rx_burst() +
              tx_burst(4, 1) + rx_burst() + tx_burst(2, 2))
        write(t, "no-mrg-" + name, net_rx_open(ring, 4, mtu=1500) + rx_frame(1, in_order=io) +
              rx_frame(2, flags=2, in_order=io) + rx_burst() + tx_burst())
    write(t, "legacy-10-byte-header", net_rx_open(0x10) + rx_frame(2) + rx_burst())
    write(t, "legacy-mrg", net_rx_open(0x10 | MRG) + rx_frame(2) + rx_burst())
    write(t, "two-pairs", net_rx_open(MRG, 1) + rx_frame(1, pair=1) + rx_burst(pair=1) +
          rx_frame(2) + rx_burst() + tx_burst(pair=1))
    # test_net_evil.c test_rx_evil_headers: num_buffers 0 / huge / more than used
    for name, num in (("zero", 0), ("huge", 0xffff), ("more", 5)):
        write(t, "num-buffers-" + name, net_rx_open(MRG) + rx_frame(1, num=num) + rx_frame(2) +
              rx_burst() + rx_frame(1) + rx_burst())
    write(t, "short-len", net_rx_open(MRG) + rx_frame(1, lens=((1, 4),)) + rx_burst())
    write(t, "len-lie", net_rx_open(MRG) + rx_frame(1, lens=((3, 0x7fffffff),)) + rx_burst())
    write(t, "raw-header", net_rx_open(MRG | LRO) + rx_frame(1, raw_hdr=bytes(range(0xf0, 0xfc))) +
          rx_burst())
    # a frame across two polls (test_rx_frame_across_polls)
    write(t, "frame-across-polls", net_rx_open(MRG) + rx_frame(1, num=2) + rx_burst() +
          rx_frame(1, raw_hdr=bytes(12)) + rx_burst())
    # tx: held, completed late, ring full (test_tx_ring_full)
    write(t, "tx-held", net_rx_open(HOLD, 0, 2) + tx_burst(8) + tx_burst(8) + tx_complete(3) +
          tx_burst(8) + u8(9) + tx_complete(20) + u8(9))
    for name, tx, what in (("rx-id-range", 0, 0), ("rx-double", 0, 2), ("tx-len", 1, 3),
                           ("tx-idx-jump", 1, 4), ("rx-bad-wrap", 0, 5)):
        ring = 1 if what == 5 else 0
        pre = tx_burst(2) if tx else rx_frame(1)
        write(t, "evil-" + name, net_rx_open(ring | MRG | (HOLD if tx else 0)) + pre +
              net_evil(tx, what) + rx_burst() + tx_burst() + rx_burst())


# ---- fuzz_blk_status -----------------------------------------------------------

def blk_open(ctl, ctl2=0, sz=4, seg_max=None, size_max=None, md=None, mwz=None):
    b = u8(ctl) + u8(ctl2) + u8(sz)
    if ctl & 0x20:
        b += u8(seg_max)
    if ctl & 0x40:
        b += u16(size_max)
    if ctl2 & 4:
        b += u8(md)
    if ctl2 & 8:
        b += u8(mwz)
    return b


def submit(kind, off=0, nblk=8, iovcnt=1, pieces=(), q=0, resubmit=False):
    k = (kind & 7) | ((iovcnt - 1) & 3) << 5 | (0x10 if resubmit else 0)
    b = u8(0 | q << 7) + u8(k) + u16(off) + u8(nblk)
    for i in range(iovcnt - 1):
        b += u8(pieces[i] if i < len(pieces) else 2)
    return b


def complete(n, status=0, unwritten=False, how=0, v=0, q=0, order=(), in_order=False):
    b = u8(3 | q << 7) + u8(n - 1)
    for i in range(n):
        if not in_order:
            b += u8(order[i] if i < len(order) else 0)
        hb = (status % 3) << 4 | (1 if unwritten else 0)
        if status > 2:
            b += u8(0x80 | hb) + u8(status)
        else:
            b += u8(hb)
        b += u8(how) + u32(v)
    return b


def poll(n=40, q=0): return u8(5 | q << 7) + u8(n - 1)
def blk_evil(what, pick=0): return u8(7) + u8(what) + u8(pick)


READ, WRITE, FLUSH, GET_ID, DISCARD, WZ = 0, 2, 4, 5, 6, 7


def blk_status_seeds():
    t = "fuzz_blk_status"
    rings = [("split", 0), ("packed", 1), ("split-in-order", 2), ("packed-in-order", 3)]
    for name, ring in rings:
        io = bool(ring & 2)
        s = blk_open(ring) + submit(READ) + submit(WRITE, 8) + submit(FLUSH) + submit(GET_ID)
        write(t, "ok-" + name, s + complete(4, in_order=io) + poll())
        write(t, "statuses-" + name, s + complete(1, 1, in_order=io) +
              complete(1, 2, in_order=io) + complete(1, 7, in_order=io) +
              complete(1, 0, unwritten=True, in_order=io) + poll())
        if not io:
            write(t, "reverse-" + name, s + complete(4, order=(3, 2, 1, 0)) + poll())
    # requests split at seg_max / size_max (test_large_io_split, test_size_max_odd)
    write(t, "split-requests", blk_open(0x60, 0, 5, seg_max=2, size_max=1536) +
          submit(READ, 0, 40, 3, (3, 5)) + complete(8) + poll() + complete(8, 1) + poll())
    write(t, "no-indirect-tiny-ring", blk_open(0x04 | 0x20, 0, 2, seg_max=0) +
          submit(READ, 0, 16, 2, (4,)) + submit(FLUSH) + complete(2) + poll())
    write(t, "ranges", blk_open(0, 0x0c, 4, md=4, mwz=4) + submit(DISCARD, 0, 16) +
          submit(WZ, 8, 16) + complete(8) + poll() + complete(8, 2) + poll())
    write(t, "read-only", blk_open(0, 1) + submit(WRITE) + submit(DISCARD) + submit(READ) +
          complete(1) + poll())
    write(t, "blk-size-4096", blk_open(0x80) + submit(READ, 1, 3) + submit(WRITE, 2, 8) +
          complete(2) + poll())
    write(t, "two-queues", blk_open(0, 2) + submit(READ, q=1) + submit(READ) +
          complete(1, q=1) + poll(q=1) + complete(1) + poll())
    write(t, "resubmit-from-callback", blk_open(0) + submit(READ, resubmit=True) +
          submit(FLUSH, resubmit=True) + complete(1) + poll() + complete(2) + poll())
    write(t, "close-in-flight", blk_open(1) + submit(READ, resubmit=True) + submit(WRITE))
    write(t, "eagain", blk_open(4, 0, 2) + submit(READ) * 6 + complete(2) + poll() +
          submit(READ))
    write(t, "erange-einval", blk_open(0) + submit(READ, 0xffff) + submit(READ, 0, 0) +
          submit(READ, 0, 3, 2, (1,)))
    write(t, "len-lie", blk_open(0) + submit(READ) + complete(1, how=3, v=0x10000000) + poll() +
          submit(READ) + poll())
    for name, what in (("id-range", 0), ("not-in-flight", 1), ("double", 2), ("len", 3),
                       ("idx-jump", 4), ("bad-wrap", 5)):
        ring = 1 if what == 5 else 0
        pre = complete(1) + poll() if what == 2 else b""
        write(t, "evil-" + name, blk_open(ring) + submit(READ, resubmit=True) + submit(WRITE) +
              pre + blk_evil(what, 1) + poll() + submit(READ) + poll())


# ---- fuzz_vhost_user -----------------------------------------------------------

PROTO_MQ, PROTO_REPLY_ACK, PROTO_CONFIG, PROTO_RESET = 0, 3, 9, 13


def vu_seeds():
    t = "fuzz_vhost_user"

    def seed(main, replies):
        return u8(len(main)) + main + replies

    def ok_u64(v): return u8(0) + u64(v)          # a proper answer carrying v
    def ack(): return u8(0)                       # success ack
    feats = VERSION_1 | BIT(30) | EVENT_IDX | INDIRECT | blk_feat("FLUSH", "SEG_MAX", "BLK_SIZE")
    cfg = blk_config(2048, 65536, 8, 512)
    # blk with MQ, REPLY_ACK, CONFIG, RESET_DEVICE, in the order the requests come:
    # GET_FEATURES, GET_PROTOCOL_FEATURES, (SET_PROTOCOL_FEATURES), GET_QUEUE_NUM,
    # SET_OWNER (ack), GET_CONFIG (probe); SET_FEATURES (ack), GET_CONFIG for
    # each config field read; per queue SET_MEM_TABLE (first), VRING_NUM, BASE,
    # ADDR, KICK, CALL (acks); VRING_ENABLE (ack); at close VRING_ENABLE 0 (ack),
    # GET_VRING_BASE, RESET_DEVICE (ack).
    hs = ok_u64(feats) + ok_u64(BIT(PROTO_MQ) | BIT(PROTO_REPLY_ACK) | BIT(PROTO_CONFIG) |
                                BIT(PROTO_RESET))
    hs += ok_u64(2) + ack() + u8(0) + cfg
    body = ack() + (u8(0) + cfg) * 3 + ack() * 7 + ack() + u8(0) + u32(0) + ack() * 4
    write(t, "blk-handshake", seed(u8(0) + u8(2) + u8(8) + u8(1) + u8(2) + u8(0) + u8(1), hs + body))
    # a net back-end: no protocol features at all
    write(t, "net-plain", seed(u8(1) + u8(1) + u8(6) + u8(1) + u8(2) + u8(0) + u8(1),
                               ok_u64(VERSION_1 | EVENT_IDX | net_feat("MRG_RXBUF")) +
                               (u8(0) + u32(0)) * 4))
    write(t, "net-packed", seed(u8(1) + u8(1) + u8(6),
                                ok_u64(VERSION_1 | RING_PACKED | BIT(30)) + ok_u64(BIT(3)) +
                                ack() * 60))
    # answers that are wrong: request number, flags, size; and hanging up
    write(t, "wrong-request", seed(u8(0), u8(5 | 0x20) + u32(2)))
    write(t, "wrong-flags", seed(u8(0), u8(5) + u32(0)))
    write(t, "wrong-size", seed(u8(0), u8(6) + u16(3)))
    write(t, "oversize", seed(u8(0), u8(6) + u16(4100)))
    write(t, "hang-up-in-handshake", seed(u8(0), ok_u64(feats) + u8(7)))
    write(t, "refused-ack", seed(u8(0), hs + u8(8) + u64(1)))
    write(t, "config-garbage", seed(u8(0), ok_u64(feats) + ok_u64(BIT(PROTO_CONFIG)) +
                                    u8(0) + bytes(range(256))))
    write(t, "queue-num-huge", seed(u8(0), ok_u64(feats) + ok_u64(BIT(PROTO_MQ)) + ok_u64(1 << 40)))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    ring_seeds(False)
    ring_seeds(True)
    config_seeds()
    net_rx_seeds()
    blk_status_seeds()
    vu_seeds()
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)
        print(f"{t}: {len(files)} seeds, {size} bytes")


if __name__ == "__main__":
    main()
