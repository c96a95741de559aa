"""The equivalent jl / bpftrace script pairs that every measurement runs."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    """One job written in both languages."""

    name: str
    covers: str
    jl: str
    bpftrace: str

    @property
    def reads_no_args(self):
        """Whether jl's script is a typed probe or reads no tracepoint `args` (the start-to-exit target's set)."""
        return "args." not in self.jl


# The workload probe of the per-event overhead and the map-print measurements.
GETPPID = "tracepoint:syscalls:sys_enter_getppid"
CLOSE = "tracepoint:syscalls:sys_enter_close"

# Appended to both scripts for the start-to-exit runs: exits at the first tick after everything is attached.
EXIT_PROBE = " interval:ms:1 { exit(); }"

PAIRS = [
    Pair(
        "kstack",
        "kernel stacks as map keys (profile sampling)",
        "profile:hz:99 { @[kstack] = count(); }",
        "profile:hz:99 { @[kstack] = count(); }",
    ),
    Pair(
        "count_by_vec",
        "count() keyed by a tracepoint arg",
        "tracepoint:irq:softirq_entry { @[args.vec] = count(); }",
        "tracepoint:irq:softirq_entry { @[args->vec] = count(); }",
    ),
    Pair(
        "hist",
        "log2 hist()",
        "tracepoint:syscalls:sys_enter_write { @bytes = hist(args.count); }",
        "tracepoint:syscalls:sys_enter_write { @bytes = hist(args->count); }",
    ),
    Pair(
        "lhist",
        "lhist()",
        "tracepoint:irq:softirq_entry { @v = lhist(args.vec, 0, 10, 1); }",
        "tracepoint:irq:softirq_entry { @v = lhist(args->vec, 0, 10, 1); }",
    ),
    Pair(
        "stats",
        "min max avg stats",
        "tracepoint:syscalls:sys_enter_write { @lo = min(args.count); @hi = max(args.count);"
        " @mean = avg(args.count); @all = stats(args.count); }",
        "tracepoint:syscalls:sys_enter_write { @lo = min(args->count); @hi = max(args->count);"
        " @mean = avg(args->count); @all = stats(args->count); }",
    ),
    Pair(
        "sum_by_pid",
        "sum() keyed by pid",
        "tracepoint:syscalls:sys_enter_read { @[pid] = sum(args.count); }",
        "tracepoint:syscalls:sys_enter_read { @[pid] = sum(args->count); }",
    ),
    Pair(
        "predicate",
        "predicate with && ||",
        "tracepoint:irq:softirq_entry /args.vec == 1 || args.vec == 3 && cpu == 0/ { @ = count(); }",
        "tracepoint:irq:softirq_entry /args->vec == 1 || args->vec == 3 && cpu == 0/ { @ = count(); }",
    ),
    Pair(
        "comm_key",
        "string key (comm) + pid",
        "tracepoint:raw_syscalls:sys_enter { @[comm, pid] = count(); }",
        "tracepoint:raw_syscalls:sys_enter { @[comm, pid] = count(); }",
    ),
    Pair(
        "printf",
        "printf of comm and pid",
        'tracepoint:sched:sched_process_exec { printf("%s %d\\n", comm, pid); }',
        'tracepoint:sched:sched_process_exec { printf("%s %d\\n", comm, pid); }',
    ),
    Pair(
        "plain_store",
        "plain map store of nsecs",
        "tracepoint:sched:sched_switch { @last[args.next_pid] = nsecs; }",
        "tracepoint:sched:sched_switch { @last[args->next_pid] = nsecs; }",
    ),
    Pair(
        "if_else",
        "$vars and if / else if / else",
        "tracepoint:irq:softirq_entry { $v = args.vec; if ($v == 3) { @net = count(); }"
        " else if ($v > 6) { @late = count(); } else { @other[$v * 2 + 1] = count(); } }",
        "tracepoint:irq:softirq_entry { $v = args->vec; if ($v == 3) { @net = count(); }"
        " else { if ($v > 6) { @late = count(); } else { @other[$v * 2 + 1] = count(); } } }",
    ),
    Pair(
        "softirq_dur",
        "softirq entry/exit duration hist per vec (start map per CPU)",
        "tracepoint:irq:softirq_entry { @start[cpu] = nsecs; }"
        " tracepoint:irq:softirq_exit /@start[cpu] != 0/ { @[args.vec] = hist(nsecs - @start[cpu]); }",
        "tracepoint:irq:softirq_entry { @start[cpu] = nsecs; }"
        " tracepoint:irq:softirq_exit /@start[cpu] != 0/ { @[args->vec] = hist(nsecs - @start[cpu]); }",
    ),
    Pair(
        "timer_any",
        "typed timer(): duration hist per callback",
        "timer() { @[func] = hist(dur); }",
        "tracepoint:timer:timer_expire_entry { @start[args->timer] = nsecs; @func[args->timer] = args->function; }"
        " tracepoint:timer:timer_expire_exit /@start[args->timer] != 0/"
        " { @[ksym(@func[args->timer])] = hist(nsecs - @start[args->timer]);"
        " delete(@start[args->timer]); delete(@func[args->timer]); }",
    ),
    Pair(
        "timer_fn",
        'typed timer("FUNCTION"): one callback',
        'timer("delayed_work_timer_fn") { @ = hist(dur); }',
        'tracepoint:timer:timer_expire_entry /args->function == kaddr("delayed_work_timer_fn")/'
        " { @start[args->timer] = nsecs; }"
        " tracepoint:timer:timer_expire_exit /@start[args->timer] != 0/"
        " { @ = hist(nsecs - @start[args->timer]); delete(@start[args->timer]); }",
    ),
    Pair(
        "getppid_count",
        "@ = count() on the workload probe",
        GETPPID + " { @ = count(); }",
        GETPPID + " { @ = count(); }",
    ),
    Pair(
        "getppid_empty",
        "empty block on the workload probe (the floor)",
        GETPPID + " { }",
        GETPPID + " { }",
    ),
]


def by_name(name: str) -> Pair:
    """The pair called NAME."""
    return next(pair for pair in PAIRS if pair.name == name)
