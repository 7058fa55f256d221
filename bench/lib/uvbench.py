"""Shared helpers for bench/net and bench/blk (python3 standard library only).

What is here: starting and always stopping the processes a benchmark needs
(dpdk-testpmd driven through its interactive prompt, qemu-storage-daemon,
pktfwd, blkbench), pinning them, reading their CPU time, host hugepages,
medians, the table, the CSV and the gnuplot bar chart.

Every child runs in its own session, so a Ctrl-C at the terminal reaches
this script only; Reaper then stops each child by its process group id,
removes the scratch directory (sockets, logs) and the /var/run/dpdk/<prefix>
directories of the testpmds it started.
"""

import atexit
import csv
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class BenchError(Exception):
    """A run could not be measured (a process died, a prompt never came)."""


def log(*args):
    print(*args, flush=True)


def warn(*args):
    import sys
    print(*args, file=sys.stderr, flush=True)


# ---- processes ----------------------------------------------------------

class Reaper:
    """Owns every child process and the scratch directory; cleans up once."""

    def __init__(self, prefix, keep=False):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.keep = keep
        self.procs = []
        self.dpdk_prefixes = []
        self.done = False
        atexit.register(self.cleanup)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, sig, _frame):
        # Ignore further signals while cleaning up; exit with 128 + sig.
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        warn(f"\ninterrupted (signal {sig}): stopping every process started here")
        self.cleanup()
        os._exit(128 + sig)

    def path(self, name):
        return os.path.join(self.dir, name)

    def spawn(self, argv, cpus=None, stdin=None, stdout=None, stderr=None, env=None):
        def pre():
            if cpus is not None:
                os.sched_setaffinity(0, cpus)
        p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr,
                             env=env, preexec_fn=pre, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, grace=5.0):
        """Signal a child's process group, wait, then SIGKILL it."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def cleanup(self):
        if self.done:
            return
        self.done = True
        for p in list(self.procs):
            self.stop(p, signal.SIGTERM, 2.0)
        for prefix in self.dpdk_prefixes:
            shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)
        if self.keep:
            warn(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def cpu_seconds(pid):
    """User + system CPU seconds of a whole process (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def wait_until(cond, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


class OutputLog:
    """Collects a child's stdout (and stderr) in memory and in a file."""

    def __init__(self, stream, path):
        self.buf = ""
        self.cond = threading.Condition()
        self.file = open(path, "w")
        self.eof = False
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream):
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            text = chunk.decode("utf-8", "replace")
            with self.cond:
                self.buf += text
                self.cond.notify_all()
            self.file.write(text)
            self.file.flush()
        with self.cond:
            self.eof = True
            self.cond.notify_all()
        self.file.close()

    def mark(self):
        with self.cond:
            return len(self.buf)

    def count(self, pattern):
        with self.cond:
            return len(re.findall(pattern, self.buf))

    def wait(self, pattern, start=0, timeout=10.0, flags=0):
        """The first match of pattern at or after offset start, or None."""
        rx = re.compile(pattern, flags)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.buf, start)
                if m:
                    return m
                left = end - time.monotonic()
                if left <= 0 or self.eof:
                    return None
                self.cond.wait(min(left, 0.2))

    def tail(self, n=5):
        with self.cond:
            return "\n".join(self.buf.rstrip().splitlines()[-n:])


class Testpmd:
    """dpdk-testpmd in interactive mode: commands on stdin, output collected."""

    def __init__(self, reaper, name, cpus, lcores, vdev, eal=(), app=(), wrap=(),
                 prompt_timeout=30.0):
        self.reaper = reaper
        self.name = name
        self.prefix = f"uvio-bench-{name}-{os.getpid()}"
        reaper.dpdk_prefixes.append(self.prefix)
        # stdbuf outside any wrapper (valgrind), which would not follow its exec
        argv = ["stdbuf", "-oL", "-eL"] + list(wrap) + ["dpdk-testpmd", "--lcores", lcores,
                             "--no-pci", "--file-prefix", self.prefix, *eal,
                             "--vdev", vdev, "--", "-i", *app]
        self.argv = argv
        self.proc = reaper.spawn(argv, cpus=cpus, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.out = OutputLog(self.proc.stdout, reaper.path(f"{name}.log"))
        if not self.out.wait(r"testpmd> ", 0, prompt_timeout):
            tail = self.out.tail(8)
            self.kill()
            raise BenchError(f"{name}: dpdk-testpmd gave no prompt:\n{tail}")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def send(self, line):
        if not self.alive():
            raise BenchError(f"{self.name}: dpdk-testpmd exited ({self.proc.returncode}):\n"
                             + self.out.tail(8))
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise BenchError(f"{self.name}: dpdk-testpmd stdin: {e}")

    def cmd(self, line, until, timeout=10.0):
        """Send a command and wait for a regex in what follows it."""
        start = self.out.mark()
        self.send(line)
        m = self.out.wait(until, start, timeout, re.S)
        if not m:
            raise BenchError(f"{self.name}: no answer to '{line}':\n" + self.out.tail(8))
        return m

    def port_stats(self):
        """(RX-packets, TX-packets, monotonic time of the answer) of port 0."""
        t0 = time.monotonic()
        m = self.cmd("show port stats 0",
                     r"NIC statistics for port 0\s+#+\s*\n(.*?)\n\s*#{20,}", 10.0)
        t1 = time.monotonic()
        body = m.group(1)
        rx = re.search(r"RX-packets:\s*(\d+)", body)
        tx = re.search(r"TX-packets:\s*(\d+)", body)
        if not rx or not tx:
            raise BenchError(f"{self.name}: unreadable port stats:\n{body}")
        return int(rx.group(1)), int(tx.group(1)), (t0 + t1) / 2

    def start_fwd(self, how="start"):
        return self.cmd(how, r"packet forwarding - ports=|already started", 10.0)

    def stop_fwd(self):
        """Stop forwarding; the text of its forward statistics."""
        m = self.cmd("stop", r"(Telling cores to stop.*?\nDone\.|not started)", 15.0)
        return m.group(0)

    def quit(self, timeout=10.0):
        if self.alive():
            try:
                self.send("quit")
            except BenchError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self):
        self.reaper.stop(self.proc, signal.SIGTERM, 3.0)
        shutil.rmtree(os.path.join("/var/run/dpdk", self.prefix), ignore_errors=True)


# ---- host set-up ------------------------------------------------------------

def need_root(tool):
    if os.geteuid() != 0:
        raise SystemExit(f"{tool}: needs root (hugepages, DPDK)")


def need_programs(tool, programs):
    missing = [p for p in programs if not (shutil.which(p) or os.access(p, os.X_OK))]
    if missing:
        raise SystemExit(f"{tool}: missing {', '.join(missing)} "
                         "(make; apt-get install dpdk dpdk-dev qemu-system-common "
                         "gnuplot-nox valgrind)")


def hugepages(tool, want_free):
    """At least want_free 2 MiB hugepages free and hugetlbfs mounted."""
    def free():
        with open("/proc/meminfo") as f:
            return int(re.search(r"HugePages_Free:\s+(\d+)", f.read()).group(1))
    have = free()
    if have < want_free:
        with open("/proc/sys/vm/nr_hugepages") as f:
            total = int(f.read())
        try:
            with open("/proc/sys/vm/nr_hugepages", "w") as f:
                f.write(str(total + want_free - have))
        except OSError:
            pass
    with open("/proc/mounts") as f:
        mounted = any(l.split()[1] == "/dev/hugepages" and l.split()[2] == "hugetlbfs"
                      for l in f if len(l.split()) > 2)
    if not mounted:
        os.makedirs("/dev/hugepages", exist_ok=True)
        subprocess.run(["mount", "-t", "hugetlbfs", "nodev", "/dev/hugepages"], check=False)
    have = free()
    if have < want_free // 2:
        raise SystemExit(f"{tool}: only {have} hugepages free (need {want_free}): "
                         f"echo {want_free + 256} > /proc/sys/vm/nr_hugepages")
    return have


def machine_line():
    """One line naming the machine: CPU model, CPUs, kernel, load."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()
    return (f"{model}, {os.cpu_count()} CPUs, Linux {os.uname().release}, "
            f"load average {load[0]:.1f} at start")


# ---- numbers and output -------------------------------------------------------

def median(values):
    v = [x for x in values if x is not None and x == x]
    return statistics.median(v) if v else float("nan")


def fmt(x, spec):
    return "-" if x is None or x != x else format(x, spec)


def table(headers, rows, aligns=None):
    """Rows of strings under headers, columns padded; '<' or '>' per column."""
    aligns = aligns or ["<"] + [">"] * (len(headers) - 1)
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    lines = []
    for r in [headers] + rows:
        lines.append("  ".join(format(str(c), a + str(w)) for c, a, w in zip(r, aligns, widths)))
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_csv(path, headers, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(headers)
        for r in rows:
            w.writerow(["" if (isinstance(x, float) and x != x) else x for x in r])


def bar_chart(png, title, ylabel, labels, series, extra="", refs=(), points=()):
    """A clustered bar chart: series is [(name, [value per label])]; NaN is a gap.
    refs: [(name, value)] drawn as dashed horizontal lines, named in the key;
    points: [(name, [value per label])] drawn as a mark over each cluster."""
    if not shutil.which("gnuplot"):
        warn(f"gnuplot not found (apt-get install gnuplot-nox): no {png}")
        return False
    os.makedirs(os.path.dirname(png), exist_ok=True)
    dat = png + ".dat"
    with open(dat, "w") as f:
        for i, lab in enumerate(labels):
            vals = ["?" if (v is None or v != v) else f"{v:.6g}" for _, vs in
                    list(series) + list(points) for v in [vs[i]]]
            f.write('"%s" %s\n' % (lab, " ".join(vals)))
    plots = []
    for j, (name, _) in enumerate(series):
        src = f"'{dat}'" if j == 0 else "''"
        xt = ":xtic(1)" if j == 0 else ""
        plots.append(f"{src} using {j + 2}{xt} title '{name}'")
    for k, (name, _) in enumerate(points):
        plots.append(f"'' using ($0):{len(series) + k + 2} with points pt {6 + k} ps 1.6 "
                     f"lw 2 lc rgb 'black' title '{name}'")
    for k, (name, value) in enumerate(refs):
        plots.append(f"{value} with lines dt {k + 2} lw 1.5 title '{name}'")
    width = max(900, min(1800, 30 * len(labels) * max(1, len(series)) + 200))
    script = f"""
set terminal pngcairo size {width},600 noenhanced font ',10'
set output '{png}'
set datafile missing '?'
set title '{title}'
set ylabel '{ylabel}'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -40 scale 0
set bmargin 9
set rmargin 12
set yrange [0:*]
set grid ytics
set key top right
{extra}
plot {', '.join(plots)}
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        warn(f"gnuplot failed: {r.stderr.strip()}")
        return False
    os.unlink(dat)
    return True
