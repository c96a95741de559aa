"""The six measurements; each returns plain dicts that report.py turns into tables."""

import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field

from . import bpf
from .pairs import CLOSE, EXIT_PROBE, GETPPID, by_name
from .proc import Tracer, run_command

CLOSE_BASE = 1_000_000


@dataclass
class Tool:
    """How to run one tracer and recognise its own attach message. KIND says which script of a pair it runs
    (`jl` or `bpftrace`); PREFIX comes before the binary (`chroot DIR` for the peers built by bench/run);
    KEYS_ENV is the environment variable of a bpftrace's map key limit (its name changed in 0.20)."""

    name: str
    binary: str
    marker: bytes
    kind: str
    version: str = ""
    prefix: tuple = ()
    keys_env: str = ""
    env: dict = field(default_factory=dict)

    def start(self, script, env=None, map_keys=None):
        """Starts the tracer on SCRIPT; MAP_KEYS raises its map key limit (jl --map-keys, or KEYS_ENV)."""
        return self.start_argv(["-e", script], env, map_keys)

    def start_argv(self, argv, env=None, map_keys=None):
        """Starts the tracer with ARGV after its binary (see `start`)."""
        env = {**self.env, **(env or {})}
        options = []
        if map_keys is not None:
            if self.kind == "jl":
                options = ["--map-keys", str(map_keys)]
            else:
                env[self.keys_env] = str(map_keys)
        return Tracer([*self.prefix, self.binary, *options, *argv], self.marker, env)

    def script(self, pair):
        """This tool's text of PAIR."""
        return pair.jl if self.kind == "jl" else pair.bpftrace


def in_turn(items, round_number):
    """ITEMS rotated by ROUND_NUMBER, so that no tool always runs first (or right after the same other one)."""
    shift = round_number % len(items)
    return items[shift:] + items[:shift]


def median(values):
    """Median of the values that are not None (None when there are none)."""
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def log(message):
    """Progress on stderr, so that stdout keeps only the tables."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def start_to_exit(tools, pairs, rounds):
    """Wall time, attach time and peak RSS of start-to-exit runs (script + `interval:ms:1 { exit(); }`)."""
    results = {}
    for pair in pairs:
        samples = {tool.name: [] for tool in tools}
        for round_number in range(rounds):
            for tool in in_turn(tools, round_number):
                run = tool.start(tool.script(pair) + EXIT_PROBE).finish()
                if run.process.returncode != 0:
                    raise RuntimeError(f"{tool.name} failed on {pair.name}:\n{run.output()}")
                samples[tool.name].append(run)
        results[pair.name] = {
            name: {
                "wall": median(run.wall for run in runs),
                "attached": median(run.attached_at for run in runs),
                "message": median(run.marker_at for run in runs),
                "rss_kib": median(run.rss_kib for run in runs),
            }
            for name, runs in samples.items()
        }
        log(f"start {pair.name}: " + ", ".join(f"{n} {r['wall'] * 1000:.0f} ms" for n, r in results[pair.name].items()))
    return results


def programs(tools, pairs, dump_dir):
    """Programs each tool loads for each pair: count, instruction slots, xlated and JITed bytes; dumps to DUMP_DIR."""
    results = {}
    for pair in pairs:
        results[pair.name] = {}
        for tool in tools:
            run = tool.start(tool.script(pair))
            try:
                run.wait_marker()
                infos = bpf.prog_infos(bpf.prog_ids(run.pid))
                dump = "\n".join(f"== {p['name']} (id {p['id']})\n{bpf.xlated(p['id'])}" for p in infos)
            finally:
                run.interrupt()
            with open(os.path.join(dump_dir, f"{pair.name}.{tool.name}.xlated"), "w") as out:
                out.write(dump)
            results[pair.name][tool.name] = {
                "programs": len(infos),
                "insns": sum(bpf.insn_count(p) for p in infos),
                "xlated": sum(p.get("bytes_xlated", 0) for p in infos),
                "jited": sum(p.get("bytes_jited", 0) for p in infos),
                "per_program": {p["name"]: bpf.insn_count(p) for p in infos},
            }
        log(f"programs {pair.name}: " + ", ".join(f"{n} {r['insns']} insns" for n, r in results[pair.name].items()))
    return results


def load_run(load, cpu, *args):
    """Runs the workload pinned to CPU; returns its mean ns per syscall."""
    return float(run_command(["taskset", "-c", str(cpu), load, *args]).strip())


def overhead(tools, load, calls, rounds):
    """Per-event cost of the getppid workload on each CPU: nothing attached, an empty program, `@ = count()`."""
    cpus = list(range(min(os.cpu_count() or 1, 2)))
    configs = [("none", None, None)]
    for tool in tools:
        for pair_name in ("getppid_empty", "getppid_count"):
            configs.append((f"{tool.name} {pair_name.split('_')[1]}", tool, by_name(pair_name)))
    per_call = {(name, cpu): [] for name, _, _ in configs for cpu in cpus}
    bpf_ns = {name: [] for name, _, _ in configs}

    def workload(name, round_number):
        for cpu in in_turn(cpus, round_number):
            per_call[(name, cpu)].append(load_run(load, cpu, "getppid", str(calls)))

    with bpf.BpfStats():
        for round_number in range(rounds):
            for name, tool, pair in in_turn(configs, round_number):
                if tool is None:
                    workload(name, round_number)
                    continue
                run = tool.start(tool.script(pair))
                try:
                    run.wait_marker()
                    ids = bpf.prog_ids(run.pid)
                    before = {p["id"]: p for p in bpf.prog_infos(ids)}
                    workload(name, round_number)
                    after = bpf.prog_infos(ids)
                finally:
                    run.interrupt()
                runs = sum(p.get("run_cnt", 0) - before[p["id"]].get("run_cnt", 0) for p in after)
                spent = sum(p.get("run_time_ns", 0) - before[p["id"]].get("run_time_ns", 0) for p in after)
                if runs:
                    bpf_ns[name].append(spent / runs)
    results = {}
    for name, _, _ in configs:
        results[name] = {"bpf_ns": median(bpf_ns[name])}
        for cpu in cpus:
            value = median(per_call[(name, cpu)])
            results[name][f"cpu{cpu}"] = {"per_call": value, "overhead": value - median(per_call[("none", cpu)])}
    log("overhead: " + ", ".join(f"{n} " + "/".join(f"{r[f'cpu{c}']['per_call']:.0f}" for c in cpus) + " ns"
                                 for n, r in results.items()))
    return results


def syscall_tracepoints(count):
    """COUNT sys_enter_* tracepoint names (sorted), for scripts of growing size."""
    names = sorted(n for n in os.listdir("/sys/kernel/tracing/events/syscalls") if n.startswith("sys_enter_"))
    if len(names) < count:
        raise RuntimeError(f"only {len(names)} syscall tracepoints, need {count}")
    return names[:count]


def growth_script(count):
    """COUNT probes, each counting into its own key (the same text in both languages)."""
    return " ".join(
        f"tracepoint:syscalls:{name} {{ @c[{index}] = count(); }}" for index, name in enumerate(syscall_tracepoints(count))
    )


def compile_growth(tools, sizes, rounds):
    """jl -d time per script size, and both tools' start-to-exit wall per script size."""
    jl = next(tool for tool in tools if tool.kind == "jl")
    results = {}
    for size in sizes:
        with tempfile.NamedTemporaryFile("w", suffix=".jl", delete=False) as script:
            script.write(growth_script(size))
        compile_times, walls = [], {tool.name: [] for tool in tools}
        for round_number in range(rounds):
            started = time.perf_counter()
            run_command([jl.binary, "-d", script.name])
            compile_times.append(time.perf_counter() - started)
            for tool in in_turn(tools, round_number):
                run = tool.start(growth_script(size) + EXIT_PROBE).finish()
                if run.process.returncode != 0:
                    raise RuntimeError(f"{tool.name} failed on {size} probes:\n{run.output()}")
                walls[tool.name].append(run.wall)
        os.unlink(script.name)
        results[size] = {"jl_d": median(compile_times), **{name: median(values) for name, values in walls.items()}}
        log(f"growth {size} probes: jl -d {results[size]['jl_d'] * 1000:.1f} ms")
    return results


def teardown_floor(helper, rounds):
    """The kernel's own time to detach an empty program from one tracepoint (bench/teardown.c), in seconds: the
    link's close (program detached) and the perf event's close (tracepoint probe unregistered)."""
    with open(f"/sys/kernel/tracing/events/{GETPPID.split(':', 1)[1].replace(':', '/')}/id") as tracepoint:
        tracepoint_id = tracepoint.read().strip()
    link_ms, perf_ms = (float(field) for field in run_command([helper, tracepoint_id, str(rounds)]).split())
    log(f"teardown floor: link {link_ms:.1f} ms, perf event {perf_ms:.1f} ms")
    return {"link": link_ms / 1000, "perf": perf_ms / 1000}


def map_print(tools, load, sizes, rounds):
    """Time from SIGINT to exit (printing every key, then teardown) after filling a map with SIZE distinct keys."""
    results = {}
    for size in sizes:
        times = {tool.name: [] for tool in tools}
        keys = {tool.name: [] for tool in tools}
        for round_number in range(rounds):
            for tool in in_turn(tools, round_number):
                arg = "args.fd" if tool.kind == "jl" else "args->fd"
                script = f"{CLOSE} /{arg} >= {CLOSE_BASE}/ {{ @[{arg}] = count(); }}"
                run = tool.start(script, map_keys=max(sizes) * 2)
                try:
                    run.wait_marker()
                    load_run(load, 0, "close", str(size), str(CLOSE_BASE))
                finally:
                    times[tool.name].append(run.interrupt())
                keys[tool.name].append(sum(line.startswith("@[") for line in run.stdout.text().splitlines()))
        results[size] = {name: {"print": median(times[name]), "keys": max(keys[name])} for name in times}
        log(f"map print {size} keys: " + ", ".join(f"{n} {r['print'] * 1000:.0f} ms ({r['keys']} keys)" for n, r in results[size].items()))
    return results

