"""Markdown tables of the results, and the verdict on the issue's targets."""

from .pairs import PAIRS
from .proc import KILL_AFTER

MIB = 1024 * 1024


def ratio(peer, ours):
    """peer / ours as text ("12.3x"); above 1 means jl is smaller or faster."""
    if not peer or not ours:
        return "n/a"
    return f"{peer / ours:.1f}x" if peer / ours >= 1 else f"{peer / ours:.2f}x"


def ms(seconds):
    """Seconds as milliseconds text."""
    return "n/a" if seconds is None else f"{seconds * 1000:.0f}" if seconds >= 0.1 else f"{seconds * 1000:.1f}"


def table(header, rows):
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def start_table(start):
    """Start-to-exit wall, attach time and peak RSS per script."""
    rows = []
    for name, tools in start.items():
        jl, bt = tools["jl"], tools["bpftrace"]
        rows.append([
            f"`{name}`", ratio(bt["wall"], jl["wall"]), ratio(bt["attached"], jl["attached"]),
            ratio(bt["rss_kib"], jl["rss_kib"]), ms(jl["wall"]), ms(bt["wall"]), ms(jl["attached"]),
            ms(bt["attached"]), f"{jl['rss_kib'] / 1024:.1f}", f"{bt['rss_kib'] / 1024:.1f}",
        ])
    return table(
        ["script", "wall bt/jl", "attached bt/jl", "RSS bt/jl", "jl wall ms", "bt wall ms", "jl attached ms",
         "bt attached ms", "jl RSS MiB", "bt RSS MiB"],
        rows,
    )


def teardown_table(teardown, start=None):
    """The kernel's detach time for one tracepoint, and what it leaves of the 20x start-to-exit target."""
    floor = teardown["link"] + teardown["perf"]
    rows = [["close() of the link (program detached)", f"{ms(teardown['link'])} ms"],
            ["close() of the perf event (tracepoint probe unregistered)", f"{ms(teardown['perf'])} ms"],
            ["total: what detaching one tracepoint costs any tool, before its final print", f"{ms(floor)} ms"]]
    if start:
        # Every script but kstack (perf events only) attaches at least one tracepoint.
        walls = sorted((tools["bpftrace"]["wall"], name) for name, tools in start.items() if name != "kstack")
        (low, low_name), (high, high_name) = walls[0], walls[-1]
        rows.append(["the wall ratio against bpftrace this leaves at most, by script (its wall / this total)",
                     f"{ratio(low, floor)} (`{low_name}`) to {ratio(high, floor)} (`{high_name}`)"])
    return table(["step", "value"], rows)


def programs_table(programs):
    """Programs, instruction slots and bytes per script."""
    rows = []
    for name, tools in programs.items():
        jl, bt = tools["jl"], tools["bpftrace"]
        rows.append([
            f"`{name}`", ratio(bt["insns"], jl["insns"]), f"{jl['programs']} / {jl['insns']}",
            f"{bt['programs']} / {bt['insns']}", f"{jl['xlated']} / {jl['jited']}", f"{bt['xlated']} / {bt['jited']}",
        ])
    return table(["script", "insns bt/jl", "jl progs / insns", "bt progs / insns", "jl xlated / JITed B",
                  "bt xlated / JITed B"], rows)


def footprint_table(footprints):
    """Binary + shared libraries per tool."""
    rows = [[name, f"{binary / MIB:.1f}", f"{libs / MIB:.1f} ({count})", f"{(binary + libs) / MIB:.1f}"]
            for name, (binary, libs, count) in footprints.items()]
    jl, bt = (sum(footprints[name][:2]) for name in ("jl", "bpftrace"))
    rows.append(["bt/jl", "", "", ratio(bt, jl)])
    return table(["tool", "binary MiB", "shared libraries MiB (count)", "total MiB"], rows)


def cpus_of(overhead):
    """The CPU labels the overhead was measured on."""
    return sorted(key for key in overhead["none"] if key.startswith("cpu"))


def overhead_table(overhead):
    """Per-call cost of the getppid workload under each configuration, per CPU."""
    cpus = cpus_of(overhead)
    rows = []
    for name, r in overhead.items():
        cells = [f"{r[cpu]['per_call']:.0f} / {r[cpu]['overhead']:.0f}" for cpu in cpus]
        rows.append([name, *cells, "" if r["bpf_ns"] is None else f"{r['bpf_ns']:.1f}"])
    return table(["attached", *(f"{cpu}: ns per call / overhead" for cpu in cpus), "in-program ns (bpf_stats)"], rows)


def growth_table(growth):
    """jl -d time and start-to-exit wall by number of probes."""
    rows = [[size, ms(r["jl_d"]), ms(r["jl"]), ms(r["bpftrace"]), ratio(r["bpftrace"], r["jl"])]
            for size, r in growth.items()]
    return table(["probes", "jl -d ms", "jl wall ms", "bt wall ms", "wall bt/jl"], rows)


def map_print_table(map_print):
    """SIGINT-to-exit time by number of keys; a median at the kill timeout means the tool hung after SIGINT."""
    def time(seconds):
        return f"hung: killed after {KILL_AFTER:.0f} s" if seconds >= KILL_AFTER else ms(seconds)

    def speedup(r):
        hung = max(r["bpftrace"]["print"], r["jl"]["print"]) >= KILL_AFTER
        return "n/a" if hung else ratio(r["bpftrace"]["print"], r["jl"]["print"])

    rows = [[size, time(r["jl"]["print"]), r["jl"]["keys"], time(r["bpftrace"]["print"]), r["bpftrace"]["keys"],
             speedup(r)] for size, r in map_print.items()]
    return table(["keys written", "jl ms", "jl keys printed", "bt ms", "bt keys printed", "bt/jl"], rows)


def skb_table(skb):
    """Per offered packet rate: achieved rates and in-program ns per packet; then the unpaced sender's ns per
    packet, which includes everything the probes cost."""
    rows = []
    for rate, configs in skb.items():
        jl, bt = configs["jl"], configs["bpftrace"]
        rows.append([rate if rate != "0" else "max", f"{configs['none']['pps']:.0f}", f"{jl['pps']:.0f} / {jl['bpf_ns']:.0f}",
                     f"{bt['pps']:.0f} / {bt['bpf_ns']:.0f}", ratio(bt["bpf_ns"], jl["bpf_ns"])])
    rates = table(["offered pps", "none: pps", "jl skb(): pps / in-program ns per packet",
                   "bpftrace: pps / in-program ns per packet", "in-program bt/jl"], rows)
    unpaced = skb.get("0")
    if not unpaced:
        return rates
    per_packet = {name: 1e9 / r["pps"] for name, r in unpaced.items()}
    rows = [[name, f"{ns:.0f}", f"{ns - per_packet['none']:.0f}"] for name, ns in per_packet.items()]
    overheads = [per_packet[name] - per_packet["none"] for name in ("bpftrace", "jl")]
    rows.append(["overhead bt/jl", "", ratio(*overheads)])
    return rates + "\n\nUnpaced sender (the whole path runs on its CPU):\n\n" + table(
        ["attached", "ns per packet", "overhead ns"], rows)


def probe_cost_table(costs):
    """jl's packet-path probes under an unpaced flood: rate, in-program ns per packet, the programs' share of the
    sending CPU, and the slowdown per packet against nothing attached."""
    none_ns = 1e9 / costs["none"]["pps"]
    rows = [["none", f"{costs['none']['pps']:.0f}", "", "", ""]]
    for name, r in costs.items():
        if name == "none":
            continue
        share = r["bpf_ns"] * r["pps"] / 1e9 * 100
        rows.append([f"`{name}`", f"{r['pps']:.0f}", f"{r['bpf_ns']:.0f}", f"{share:.1f} %",
                     f"{1e9 / r['pps'] - none_ns:.0f}"])
    return table(["attached", "pps", "in-program ns per packet", "CPU share in BPF", "overhead ns per packet"], rows)


def verdicts(start, programs, footprints, overhead, teardown=None):
    """The issue's targets, each with the measured value and whether it is met."""
    def worst(values):
        return min(values) if values else None

    rows = []
    wall = worst([t["bpftrace"]["wall"] / t["jl"]["wall"] for t in start.values()])
    floor = ""
    if teardown is not None:
        floor = f" (the kernel's detach alone takes {ms(teardown['link'] + teardown['perf'])} ms)"
    rows.append(["start >= 20x faster than bpftrace (wall, every script)", f"worst {wall:.1f}x{floor}", wall >= 20])
    rss = worst([t["bpftrace"]["rss_kib"] / t["jl"]["rss_kib"] for t in start.values()])
    rows.append(["peak RSS <= 1/5 of bpftrace's (every script)", f"worst 1/{rss:.1f}", rss >= 5])
    jl_size, bt_size = (sum(footprints[name][:2]) for name in ("jl", "bpftrace"))
    rows.append(["footprint <= 1/20 of bpftrace's", f"1/{bt_size / jl_size:.0f}", bt_size / jl_size >= 20])
    larger = [name for name, t in programs.items() if t["jl"]["insns"] > t["bpftrace"]["insns"]]
    rows.append(["instruction count <= bpftrace's on every script",
                 "larger on: " + ", ".join(f"`{n}`" for n in larger) if larger else "all scripts", not larger])
    for cpu in cpus_of(overhead):
        jl_count, bt_count = overhead["jl count"][cpu]["overhead"], overhead["bpftrace count"][cpu]["overhead"]
        rows.append([f"per-event overhead <= bpftrace's (`@ = count()`, {cpu})", f"{jl_count:.0f} vs {bt_count:.0f} ns",
                     jl_count <= bt_count])
        floor = overhead["jl empty"][cpu]["overhead"]
        rows.append([f"per-event overhead within 1.3x of the floor (empty program, {cpu})",
                     f"{jl_count:.0f} / {floor:.0f} ns = {jl_count / floor:.2f}x", jl_count <= 1.3 * floor])
    return table(["target", "measured", "met"], [[t, m, "yes" if ok else "**no**"] for t, m, ok in rows])


def scripts_table():
    """The script pairs, as they are run."""
    rows = [[f"`{p.name}`", p.covers, f"`{p.jl}`", f"`{p.bpftrace}`"] for p in PAIRS]
    return table(["name", "covers", "jl", "bpftrace"], rows)


def render(header, results):
    """The results section: the verdicts when every measurement they need ran, then one table per measurement."""
    parts = [header]
    sections = []
    if all(name in results for name in ("start", "programs", "footprint", "overhead")):
        sections.append(("Targets", verdicts(results["start"], results["programs"], results["footprint"],
                                             results["overhead"], results.get("teardown"))))
    tables = [
        ("start", "Start to exit, attach and peak RSS", start_table),
        ("teardown", "The kernel's detach time (one tracepoint, empty program)",
         lambda teardown: teardown_table(teardown, results.get("start"))),
        ("programs", "Programs loaded", programs_table),
        ("footprint", "Installed footprint", footprint_table),
        ("overhead", "Per-event overhead (getppid loop)", overhead_table),
        ("growth", "Growth with script size", growth_table),
        ("map_print", "Map print time", map_print_table),
        ("skb", "skb() per packet against packet rate", skb_table),
        ("probe_cost", "jl's packet-path probes under a flood (skb, softirq, stall)", probe_cost_table),
    ]
    sections += [(title, render_table(results[name])) for name, title, render_table in tables if name in results]
    sections.append(("Scripts", scripts_table()))
    for title, body in sections:
        parts.append(f"### {title}\n\n{body}")
    return "\n\n".join(parts) + "\n"
