"""What a running jl costs and holds, read from /proc and from the kernel: the run time of its BPF programs
(the kernel's bpf_stats), its own user and system CPU time, its RSS, and the entries of the BPF maps it holds.
"""

import ctypes
import json
import os
import platform
import re
import subprocess
import time
from pathlib import Path

# bpf(BPF_ENABLE_STATS, {.enable_stats.type = BPF_STATS_RUN_TIME}): Linux 5.8.
BPF_SYSCALL = {"x86_64": 321, "aarch64": 280}
BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0


def bpftool(*args, check=True):
    """bpftool's JSON answer; None when it fails and CHECK is false."""
    done = subprocess.run(["bpftool", "-j", *args], check=check, capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else None


def enable_bpf_stats():
    """Makes the kernel count the run time of every BPF program for as long as the returned fd stays open.
    Unlike the kernel.bpf_stats_enabled sysctl, this leaves whoever else turned it on or off undisturbed."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.c_uint32(BPF_STATS_RUN_TIME)
    fd = libc.syscall(BPF_SYSCALL[platform.machine()], BPF_ENABLE_STATS, ctypes.byref(attr), ctypes.sizeof(attr))
    if fd < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"BPF_ENABLE_STATS: {os.strerror(error)}")
    return fd


def fd_ids(pid, kind):
    """The ids of the BPF objects of KIND (`prog` or `map`) that process PID holds fds of."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            text = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
        except OSError:
            continue
        match = re.search(rf"^{kind}_id:\s*(\d+)", text, re.M)
        if match:
            ids.add(int(match.group(1)))
    return sorted(ids)


def status_kib(pid, key):
    """A KiB figure of /proc/PID/status (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User plus system CPU time of process PID (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def map_entries(map_id):
    """(name, (entries, max_entries)) of a map; entries is None for maps that are not hash maps."""
    info = bpftool("map", "show", "id", str(map_id))
    capacity = info.get("max_entries")
    if "hash" not in info.get("type", ""):
        return info.get("name"), (None, capacity)
    dump = bpftool("map", "dump", "id", str(map_id), check=False)
    return info.get("name"), (None if dump is None else len(dump), capacity)


def softirqs():
    """Softirq runs on the host since boot, all CPUs: (every vector, NET_RX)."""
    total = net_rx = 0
    for line in Path("/proc/softirqs").read_text().splitlines()[1:]:
        name, *counts = line.split()
        runs = sum(int(count) for count in counts)
        total += runs
        net_rx += runs if name == "NET_RX:" else 0
    return total, net_rx


def memory(pid):
    """RSS (KiB) and the entries of each BPF map process PID holds."""
    return {"rss_kib": status_kib(pid, "VmRSS"), "maps": dict(map_entries(map_id) for map_id in fd_ids(pid, "map"))}


class Meter:
    """CPU readings of one jl process and its BPF programs (the programs it holds when the meter is made)."""

    def __init__(self, pid):
        self.pid = pid
        self.programs = fd_ids(pid, "prog")

    def read(self):
        """A reading: time, the process's CPU seconds, and the run time (ns) and run count of each program by
        name."""
        programs = {}
        for prog in self.programs:
            info = bpftool("prog", "show", "id", str(prog))
            name = info.get("name", str(prog))
            ns, runs = programs.get(name, (0, 0))
            programs[name] = (ns + info.get("run_time_ns", 0), runs + info.get("run_cnt", 0))
        return {"t": time.monotonic(), "cpu_seconds": cpu_seconds(self.pid), "programs": programs,
                "softirqs": softirqs()}


def cost(before, after, packets):
    """The CPU cost between two readings, as % of one CPU: the BPF programs in all, jl itself, the total; the
    rates that drive it (PACKETS received meanwhile, the host's softirq runs and NET_RX runs), the programs'
    nanoseconds per packet and per softirq run and their % of one CPU per 1 000 softirq runs a second (the
    figure a node's softirq rate scales: 1 % of a CPU is 10 000 000 ns a second); and for each program its share,
    its runs per second and its mean run time. The programs run for every event of their kind on the host, not only for the test's packets: per
    softirq and per run are the figures that other load changes least."""
    wall = after["t"] - before["t"]
    ran = {}
    for name, (ns, runs) in after["programs"].items():
        ns_before, runs_before = before["programs"].get(name, (0, 0))
        ran[name] = (ns - ns_before, runs - runs_before)
    bpf_ns = sum(ns for ns, _ in ran.values())
    bpf = 100 * bpf_ns / 1e9 / wall
    user = 100 * (after["cpu_seconds"] - before["cpu_seconds"]) / wall
    runs, net_rx = (after["softirqs"][i] - before["softirqs"][i] for i in (0, 1))
    return {
        "seconds": round(wall, 1),
        "packets_per_second": round(packets / wall),
        "softirqs_per_second": round(runs / wall),
        "net_rx_per_second": round(net_rx / wall),
        "bpf_cpu_percent": round(bpf, 3),
        "jl_cpu_percent": round(user, 3),
        "total_cpu_percent": round(bpf + user, 3),
        "bpf_ns_per_packet": round(bpf_ns / packets) if packets else None,
        "bpf_ns_per_softirq": round(bpf_ns / runs) if runs else None,
        "bpf_cpu_percent_per_1000_softirqs_per_second": round(bpf_ns / runs / 10_000, 3) if runs else None,
        "by_program": {
            name: {
                "cpu_percent": round(100 * ns / 1e9 / wall, 3),
                "runs_per_second": round(runs / wall),
                "ns_per_run": round(ns / runs) if runs else None,
            }
            for name, (ns, runs) in sorted(ran.items())
        },
    }


def start(argv, stdout):
    """Starts jl (ARGV), its standard output to STDOUT (a file), and returns the process once jl says that its
    programs are attached; raises RuntimeError with what jl said if it does not."""
    process = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
    said = []
    for line in process.stderr:
        said.append(line)
        if line.startswith("Attached"):
            return process
    process.kill()
    process.wait()
    raise RuntimeError(f"{' '.join(map(str, argv))} did not attach: {''.join(said)}")
