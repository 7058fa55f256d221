#!/usr/bin/env python3
"""Hot-unplug QEMU devices through QMP once the guest says it is ready.

  qmp_unplug.py --qmp SOCK --log FILE --marker TEXT [--timeout S] ID...

Waits until FILE holds a line containing TEXT (use a file the guest's second
serial port writes to, `--qemu-arg -serial --qemu-arg file:FILE`: it arrives
at once, where uvio-vm's console output comes in blocks), then sends
`device_del` for every ID at once and waits for
QEMU's DEVICE_DELETED event of each: QEMU sends it only when the guest has
finished the unplug (pciehp powered the slot off, after the guest driver let
go of the device). Prints one line per ID:

  UNPLUG ok ID: deleted after 7.1 s
  UNPLUG fail ID: <why>

and exits 0 when every ID was deleted, 1 otherwise (2: usage, no guest).
"""
import argparse
import json
import socket
import sys
import time


def wait_marker(path, marker, deadline):
    """True once `marker` is on a line of `path`."""
    pos = 0
    buf = b""
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            pos += len(chunk)
            buf += chunk
            lines = buf.split(b"\n")
            buf = lines.pop()
            if any(marker.encode() in l for l in lines):
                return True
        time.sleep(0.2)
    return False


class Qmp:
    def __init__(self, path, deadline):
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.f = self.s.makefile("rw")
        self.events = []
        self.read()                                   # greeting
        self.command("qmp_capabilities")

    def read(self, timeout=10):
        self.s.settimeout(timeout)
        line = self.f.readline()
        if not line:
            raise OSError("QMP closed the connection (QEMU exited?)")
        return json.loads(line)

    def command(self, name, **args):
        cmd = {"execute": name}
        if args:
            cmd["arguments"] = args
        self.f.write(json.dumps(cmd) + "\n")
        self.f.flush()
        while True:
            m = self.read()
            if "event" in m:
                self.events.append(m)
            else:
                return m


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--qmp", required=True, help="QMP unix socket")
    p.add_argument("--log", required=True, help="guest output file to watch")
    p.add_argument("--marker", required=True, help="unplug once this appears")
    p.add_argument("--timeout", type=float, default=120,
                   help="seconds for the marker and the unplug together")
    p.add_argument("ids", nargs="+", help="QEMU device ids (blk0, net0...)")
    a = p.parse_args()
    deadline = time.monotonic() + a.timeout

    if not wait_marker(a.log, a.marker, deadline):
        for i in a.ids:
            print(f"UNPLUG fail {i}: the guest never printed '{a.marker}'")
        return 2
    pending, done, why = list(a.ids), {}, None
    try:
        q = Qmp(a.qmp, deadline)
        t0 = time.monotonic()
        for i in a.ids:
            r = q.command("device_del", id=i)
            if "return" not in r:
                pending.remove(i)
                print(f"UNPLUG fail {i}: device_del: {json.dumps(r.get('error', r))}")
        while pending and time.monotonic() < deadline:
            evs, q.events = q.events, []
            if not evs:
                try:
                    evs = [q.read(timeout=max(0.1, deadline - time.monotonic()))]
                except socket.timeout:
                    break
            for e in evs:
                dev = e.get("data", {}).get("device")
                if e.get("event") == "DEVICE_DELETED" and dev in pending:
                    pending.remove(dev)
                    done[dev] = time.monotonic() - t0
    except OSError as e:
        why = f"QMP: {e}"
    for i, t in done.items():
        print(f"UNPLUG ok {i}: deleted after {t:.1f} s")
    for i in pending:
        print(f"UNPLUG fail {i}: " + (why or f"no DEVICE_DELETED within {a.timeout:.0f} s "
                                      "(the guest did not finish the unplug)"))
    sys.stdout.flush()
    return 0 if len(done) == len(a.ids) else 1


if __name__ == "__main__":
    sys.exit(main())
