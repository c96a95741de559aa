"""The BPF programs a tracer holds: found through its fd table, described by bpftool."""

import json
import os
import re

from .proc import run_command

STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"


def prog_ids(pid):
    """IDs of the BPF programs process PID has open (from /proc/PID/fdinfo)."""
    ids = set()
    fdinfo = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fdinfo):
        try:
            with open(f"{fdinfo}/{fd}") as info:
                match = re.search(r"^prog_id:\s*(\d+)", info.read(), re.M)
        except OSError:
            continue
        if match:
            ids.add(int(match.group(1)))
    return sorted(ids)


def prog_infos(ids):
    """bpftool's JSON description of each program id (name, bytes_xlated, bytes_jited, run_time_ns, run_cnt)."""
    everything = json.loads(run_command(["bpftool", "prog", "show", "-j"]))
    wanted = set(ids)
    return [prog for prog in everything if prog["id"] in wanted]


def xlated(prog_id):
    """The verifier's view of a program (after the kernel's rewrites), as bpftool prints it."""
    return run_command(["bpftool", "prog", "dump", "xlated", "id", str(prog_id)])


def insn_count(prog):
    """Instruction slots of a program: xlated bytes / 8 (a 64-bit immediate load takes two)."""
    return prog.get("bytes_xlated", 0) // 8


class BpfStats:
    """Turns kernel.bpf_stats_enabled on for a `with` block and restores the old value."""

    def __enter__(self):
        with open(STATS_SYSCTL) as value:
            self.old = value.read().strip()
        with open(STATS_SYSCTL, "w") as value:
            value.write("1")
        return self

    def __exit__(self, *exc):
        with open(STATS_SYSCTL, "w") as value:
            value.write(self.old)
