"""Packet-path probe costs against packet rate: UDP datagrams sent across a veth pair into a network namespace, with
nothing attached, with jl's `skb()` and with the same per-hop histogram written for bpftrace.

Per offered rate, the cost is bpf_stats' run time of all the tracer's programs per packet. Unpaced, the whole
packet path runs on the sending CPU (the veth hands the packet to the backlog, processed at the sender's next
`local_bh_enable`), so the achieved rate gives the full per-packet cost, tracepoint dispatch included. CPU time
from /proc/stat is not used: its tick sampling misses a paced sender's short bursts."""

import contextlib

from . import bpf
from .measure import in_turn, log, median
from .proc import run_command

NETNS = "jlbench"
HOST_DEV, PEER_DEV = "jlbench0", "jlbench1"
HOST_IP, PEER_IP = "10.213.77.1", "10.213.77.2"
JL = "skb() { @[prev, hop] = hist(dur); }"
# jl's skb() on a kernel without function points: six hop tracepoints, a timestamp per skb address, the hop's
# time since the previous point, and the entry dropped where the packet ends (skb_copy_datagram_iovec is both a
# hop and an end).
_HOPS = ("tracepoint:net:net_dev_queue, tracepoint:net:net_dev_start_xmit, tracepoint:net:netif_rx,"
         " tracepoint:net:napi_gro_receive_entry, tracepoint:net:netif_receive_skb, tracepoint:skb:skb_copy_datagram_iovec")
BPFTRACE = (
    _HOPS + " { if (@ts[args->skbaddr] != 0) { @[@prev[args->skbaddr], probe] = hist(nsecs - @ts[args->skbaddr]); }"
    " @ts[args->skbaddr] = nsecs; @prev[args->skbaddr] = probe; }"
    " tracepoint:skb:kfree_skb, tracepoint:skb:consume_skb, tracepoint:skb:skb_copy_datagram_iovec"
    " { delete(@ts[args->skbaddr]); delete(@prev[args->skbaddr]); }"
)


@contextlib.contextmanager
def veth_namespace():
    """A network namespace behind a veth pair, removed afterwards (datagrams to PEER_IP:9 end in it)."""
    run_command(["ip", "netns", "del", NETNS], check=False)
    for command in (
        ["ip", "netns", "add", NETNS],
        ["ip", "link", "add", HOST_DEV, "type", "veth", "peer", "name", PEER_DEV],
        ["ip", "link", "set", PEER_DEV, "netns", NETNS],
        ["ip", "addr", "add", f"{HOST_IP}/24", "dev", HOST_DEV],
        ["ip", "link", "set", HOST_DEV, "up"],
        ["ip", "-n", NETNS, "addr", "add", f"{PEER_IP}/24", "dev", PEER_DEV],
        ["ip", "-n", NETNS, "link", "set", PEER_DEV, "up"],
    ):
        run_command(command)
    try:
        yield
    finally:
        run_command(["ip", "link", "del", HOST_DEV], check=False)
        run_command(["ip", "netns", "del", NETNS], check=False)


def flood(configs, load, rates, seconds, rounds):
    """CONFIGS are (name, start): START returns a started Tracer, or is None for nothing attached. Per offered rate
    (0: as fast as one sender goes) and config: achieved packets per second, in-program ns per packet and per
    program run (bpf_stats), medians of ROUNDS."""
    results = {}
    with veth_namespace():
        for rate in rates:
            packets = (rate or 200_000) * seconds
            send = lambda packets=packets, rate=rate: float(
                run_command([load, "udp", str(packets), str(rate), PEER_IP]).strip())
            results[str(rate)] = under_workload(configs, send, packets, rounds)
    return results


def under_workload(configs, workload, events, rounds):
    """CONFIGS as in `flood`; WORKLOAD runs EVENTS events (packets, disk reads) and returns how many it achieved
    per second. Per config: that rate (`pps`), in-program ns per event (`bpf_ns`) and per program run (`run_ns`),
    from bpf_stats, medians of ROUNDS with the configs in turn."""
    samples = {name: {"pps": [], "bpf_ns": [], "run_ns": []} for name, _ in configs}
    with bpf.BpfStats():
        for round_number in range(rounds):
            for name, start in in_turn(configs, round_number):
                run = start() if start else None
                try:
                    ids, before = [], {}
                    if run:
                        run.wait_marker()
                        ids = bpf.prog_ids(run.pid)
                        before = {prog["id"]: prog for prog in bpf.prog_infos(ids)}
                    pps = workload()
                    after = bpf.prog_infos(ids) if run else []
                finally:
                    if run:
                        run.interrupt()
                spent = sum(prog.get("run_time_ns", 0) - before[prog["id"]].get("run_time_ns", 0) for prog in after)
                runs = sum(prog.get("run_cnt", 0) - before[prog["id"]].get("run_cnt", 0) for prog in after)
                sample = samples[name]
                sample["pps"].append(pps)
                sample["bpf_ns"].append(spent / events if run else None)
                sample["run_ns"].append(spent / runs if runs else None)
    return {name: {key: median(values) for key, values in samples[name].items()} for name, _ in configs}


def describe(results):
    """One log line per rate: each config's achieved rate and in-program ns per packet."""
    for rate, configs in results.items():
        log(f"at {rate if rate != '0' else 'max'} pps: " + ", ".join(
            f"{name} {r['pps']:.0f} pps" + (f" {r['bpf_ns']:.0f} ns/packet in BPF" if r["bpf_ns"] else "")
            for name, r in configs.items()))


def skb_rates(tools, load, rates, seconds, rounds):
    """jl's skb() against the same per-hop histogram in bpftrace, per offered rate (see `flood`)."""
    scripts = {"jl": JL, "bpftrace": BPFTRACE}
    configs = [("none", None)] + [(tool.name, lambda tool=tool: tool.start(scripts[tool.kind])) for tool in tools]
    results = flood(configs, load, rates, seconds, rounds)
    describe(results)
    return results


# jl's typed probes on the packet path, each with an aggregation a user would keep.
PROBES = {
    "skb()": JL,
    "softirq()": "softirq() { @[name] = hist(dur); }",
    "stall()": 'stall("net_rx", 1ms) { @[cpu, culprit] = hist(dur); }',
}


def probe_costs(jl, load, seconds, rounds):
    """Each of jl's packet-path probes under an unpaced flood (see `flood`): the whole path runs on the sending
    CPU, so in-program ns per packet times packets per second is the probe's share of that CPU."""
    configs = [("none", None)] + [(label, lambda script=script: jl.start(script)) for label, script in PROBES.items()]
    results = flood(configs, load, [0], seconds, rounds)
    describe(results)
    return results["0"]
