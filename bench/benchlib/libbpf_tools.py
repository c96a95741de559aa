"""jl against libbpf-tools (BCC's hand-written C tools on libbpf, from the peers' chroot): the same job in each,
with start-up, stop and peak RSS, and the per-event cost under a steady stream of the job's events: the unpaced UDP
flood of skb.py (which runs NET_RX softirqs, context switches and timer ticks on the sending CPU), or for
`hardirqs` direct disk reads (a veth pair raises no interrupts; each read's completion raises the disk's)."""

import contextlib
import os
import tempfile
from dataclasses import dataclass

from .measure import in_turn, log, median
from .proc import Tracer, run_command
from .skb import describe, flood, under_workload


@dataclass(frozen=True)
class Job:
    """One job: the libbpf-tools command and jl's equivalent script."""

    argv: tuple
    jl: str
    covers: str
    # What makes its events: "flood" (skb.py's UDP flood) or "disk" (reads past the page cache).
    workload: str = "flood"

    @property
    def name(self):
        """The libbpf-tools command line, as the tables show it."""
        return " ".join(self.argv)

    @property
    def command(self):
        """The argv in the chroot: Debian installs the tools as NAME-libbpf."""
        return (f"{self.argv[0]}-libbpf", *self.argv[1:])


RUNQLAT = ("tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new { @q[args.pid] = nsecs; }"
           " tracepoint:sched:sched_switch /@q[args.next_pid] != 0/"
           " { @ = hist((nsecs - @q[args.next_pid]) / 1000); delete(@q[args.next_pid]); }")
HARDIRQS = ("tracepoint:irq:irq_handler_entry { @start[cpu] = nsecs; }"
            " tracepoint:irq:irq_handler_exit /@start[cpu] != 0/ { @[args.irq] = sum(nsecs - @start[cpu]); }")

JOBS = [
    Job(("softirqs", "-d"), "softirq() { @[name] = hist(dur); }", "softirq run time hist per vector (typed probe)"),
    Job(("hardirqs",), HARDIRQS, "hard interrupt handler time per irq", workload="disk"),
    Job(("runqlat",), RUNQLAT, "run queue latency hist (wakeup to switch-in), in us"),
    # libbpf-tools' profile leaves out the idle task's samples (tid 0) unless given -I: so does jl's script.
    # At 999 Hz, not 49: a flood of a second or two gives 49 Hz a hundred samples per CPU, each the first after
    # 20 ms of other work (cold caches), and their mean moved 3x between runs (9.6 to 28 us, either tool).
    Job(("profile", "-K", "-F", "999"), "profile:hz:999 /tid != 0/ { @[kstack] = count(); }",
        "kernel stacks sampled at 999 Hz, idle task left out"),
]
# Every libbpf tool prints this once it has attached (stdout, line-buffered through stdbuf).
MARKER = b"Hit Ctrl-C"


def starter(job, jl, chroot):
    """Two functions starting the job: jl's script, and the libbpf tool in the chroot (stdout line-buffered, so
    that its attach message comes when it is printed)."""
    return {
        "jl": lambda: jl.start(job.jl),
        "libbpf-tools": lambda: Tracer(["chroot", chroot, "stdbuf", "-oL", *job.command], MARKER),
    }


def start_stop(jl, chroot, rounds):
    """Per job and tool: time to attached, SIGINT to exit, and peak RSS, medians of ROUNDS."""
    results = {}
    for job in JOBS:
        starts = starter(job, jl, chroot)
        samples = {name: [] for name in starts}
        for round_number in range(rounds):
            for name in in_turn(list(starts), round_number):
                run = starts[name]()
                try:
                    run.wait_marker()
                finally:
                    stop = run.interrupt()
                samples[name].append((run.attached_at, stop, run.rss_kib))
        results[job.name] = {
            name: {key: median(sample[index] for sample in runs) for index, key in
                   enumerate(("attached", "stop", "rss_kib"))}
            for name, runs in samples.items()
        }
        log(f"libbpf-tools {job.name}: " + ", ".join(
            f"{n} attached {r['attached'] * 1000:.1f} ms, stop {r['stop'] * 1000:.0f} ms"
            for n, r in results[job.name].items()))
    return results


# 4 KiB direct reads per second of measurement: the host's virtio disk completed about 8 000 a second.
DISK_READS_PER_SECOND = 8_000


@contextlib.contextmanager
def disk_file():
    """A 16 MiB file of random bytes on the root filesystem's disk (not tmpfs), removed afterwards."""
    with tempfile.NamedTemporaryFile(dir="/var/tmp", prefix="jl-bench-") as file:
        for _ in range(16):
            file.write(os.urandom(1 << 20))
        file.flush()
        os.fsync(file.fileno())
        yield file.name


def per_event(jl, chroot, load, seconds, rounds):
    """Per job: in-program ns per run and per workload event (packet or read), and the workload's ns per event,
    under its steady workload."""
    results = {}
    for job in JOBS:
        configs = [("none", None), *starter(job, jl, chroot).items()]
        if job.workload == "disk":
            reads = DISK_READS_PER_SECOND * seconds
            with disk_file() as path:
                read = lambda: float(run_command([load, "direct", str(reads), path]).strip())
                results[job.name] = under_workload(configs, read, reads, rounds)
        else:
            flooded = flood(configs, load, [0], seconds, rounds)
            describe(flooded)
            results[job.name] = flooded["0"]
    return results


def compare(jl, chroot, load, rounds, seconds):
    """Both measurements, keyed `start` and `per_event`."""
    return {"start": start_stop(jl, chroot, rounds), "per_event": per_event(jl, chroot, load, seconds, rounds)}
