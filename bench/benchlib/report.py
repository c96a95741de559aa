"""Markdown tables of the results, and the verdict on the issue's targets."""

from .libbpf_tools import JOBS
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


def with_ratio(peer, ours, text):
    """A peer's value as TEXT with its ratio to ours: `312 (4.1x)`."""
    return f"{text} ({ratio(peer, ours)})"


def start_table(start, peers):
    """Start-to-exit wall, attach time and peak RSS per script: jl's, then each peer's with its ratio."""
    rows = []
    for name, tools in start.items():
        jl = tools["jl"]
        row = [f"`{name}`"]
        for key, text in (("wall", ms), ("attached", ms), ("rss_kib", lambda kib: f"{kib / 1024:.1f}")):
            row.append(text(jl[key]))
            row += [with_ratio(tools[peer][key], jl[key], text(tools[peer][key])) for peer in peers]
        rows.append(row)
    header = ["script"]
    for what in ("wall ms", "attached ms", "RSS MiB"):
        header += [f"jl {what}", *(f"{peer} {what} (x)" for peer in peers)]
    return table(header, rows)


def teardown_table(teardown, start=None, reference=None):
    """The kernel's detach time for one tracepoint, and what it leaves of the 20x start-to-exit target."""
    floor = teardown["link"] + teardown["perf"]
    rows = [["close() of the link (program detached)", f"{ms(teardown['link'])} ms"],
            ["close() of the perf event (tracepoint probe unregistered)", f"{ms(teardown['perf'])} ms"],
            ["total: what detaching one perf-event tracepoint costs any tool, before its final print",
             f"{ms(floor)} ms"]]
    if start and reference:
        # Every script but kstack (perf events only) attaches at least one tracepoint.
        walls = sorted((tools[reference]["wall"], name) for name, tools in start.items() if name != "kstack")
        (low, low_name), (high, high_name) = walls[0], walls[-1]
        rows.append([f"the wall ratio against {reference} this leaves at most, by script (its wall / this total)",
                     f"{ratio(low, floor)} (`{low_name}`) to {ratio(high, floor)} (`{high_name}`)"])
    return table(["step", "value"], rows)


def programs_table(programs, peers):
    """Programs and instruction slots per script (xlated / 8), with each peer's ratio; bytes for jl."""
    rows = []
    for name, tools in programs.items():
        jl = tools["jl"]
        rows.append([f"`{name}`", f"{jl['programs']} / {jl['insns']}", f"{jl['xlated']} / {jl['jited']}",
                     *(with_ratio(tools[peer]["insns"], jl["insns"],
                                  f"{tools[peer]['programs']} / {tools[peer]['insns']}") for peer in peers)])
    return table(["script", "jl progs / insns", "jl xlated / JITed B",
                  *(f"{peer} progs / insns (x)" for peer in peers)], rows)


def footprint_table(footprints):
    """Binary + shared libraries per tool, and each peer's total against jl's."""
    jl = sum(footprints["jl"][:2])
    rows = [[name, f"{binary / MIB:.1f}", f"{libs / MIB:.1f} ({count})", f"{(binary + libs) / MIB:.1f}",
             ratio(binary + libs, jl)] for name, (binary, libs, count) in footprints.items()]
    return table(["tool", "binary MiB", "shared libraries MiB (count)", "total MiB", "total / jl's"], rows)


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


def growth_table(growth, peers):
    """jl -d time and start-to-exit wall by number of probes."""
    rows = [[size, ms(r["jl_d"]), ms(r["jl"]), *(with_ratio(r[peer], r["jl"], ms(r[peer])) for peer in peers)]
            for size, r in growth.items()]
    return table(["probes", "jl -d ms", "jl wall ms", *(f"{peer} wall ms (x)" for peer in peers)], rows)


def map_print_table(map_print, peers):
    """SIGINT-to-exit time by number of keys; a median at the kill timeout means the tool hung after SIGINT."""
    def time(seconds):
        return f"hung: killed after {KILL_AFTER:.0f} s" if seconds >= KILL_AFTER else ms(seconds)

    def peer_cell(r, peer):
        hung = max(r[peer]["print"], r["jl"]["print"]) >= KILL_AFTER
        speedup = "n/a" if hung else ratio(r[peer]["print"], r["jl"]["print"])
        return f"{time(r[peer]['print'])} ({speedup}), {r[peer]['keys']} keys"

    rows = [[size, f"{time(r['jl']['print'])}, {r['jl']['keys']} keys", *(peer_cell(r, peer) for peer in peers)]
            for size, r in map_print.items()]
    return table(["keys written", "jl ms, keys printed", *(f"{peer} ms (x), keys printed" for peer in peers)], rows)


def skb_table(skb, peers):
    """Per offered packet rate: achieved rates and in-program ns per packet; then the unpaced sender's ns per
    packet, which includes everything the probes cost."""
    rows = []
    for rate, configs in skb.items():
        jl = configs["jl"]
        peer_cells = [f"{configs[peer]['pps']:.0f} / {configs[peer]['bpf_ns']:.0f} "
                      f"({ratio(configs[peer]['bpf_ns'], jl['bpf_ns'])})" for peer in peers]
        rows.append([rate if rate != "0" else "max", f"{configs['none']['pps']:.0f}",
                     f"{jl['pps']:.0f} / {jl['bpf_ns']:.0f}", *peer_cells])
    rates = table(["offered pps", "none: pps", "jl skb(): pps / in-program ns per packet",
                   *(f"{peer}: pps / in-program ns per packet (x)" for peer in peers)], rows)
    unpaced = skb.get("0")
    if not unpaced:
        return rates
    per_packet = {name: 1e9 / r["pps"] for name, r in unpaced.items()}
    overhead = {name: ns - per_packet["none"] for name, ns in per_packet.items()}
    rows = [[name, f"{ns:.0f}", f"{overhead[name]:.0f}" + ("" if name in ("none", "jl") else
                                                           f" ({ratio(overhead[name], overhead['jl'])})")]
            for name, ns in per_packet.items()]
    return rates + "\n\nUnpaced sender (the whole path runs on its CPU):\n\n" + table(
        ["attached", "ns per packet", "overhead ns (x)"], rows)


def libbpf_start_table(start):
    """jl against libbpf-tools: time to attached, SIGINT to exit, their sum, and peak RSS."""
    rows = []
    for job, tools in start.items():
        jl, lt = tools["jl"], tools["libbpf-tools"]
        jl_total, lt_total = jl["attached"] + jl["stop"], lt["attached"] + lt["stop"]
        rows.append([f"`{job}`", ms(jl["attached"]), with_ratio(lt["attached"], jl["attached"], ms(lt["attached"])),
                     ms(jl["stop"]), with_ratio(lt["stop"], jl["stop"], ms(lt["stop"])),
                     ms(jl_total), with_ratio(lt_total, jl_total, ms(lt_total)), f"{jl['rss_kib'] / 1024:.1f}",
                     with_ratio(lt["rss_kib"], jl["rss_kib"], f"{lt['rss_kib'] / 1024:.1f}")])
    return table(["libbpf-tools job", "jl attached ms", "libbpf-tools attached ms (x)", "jl SIGINT to exit ms",
                  "libbpf-tools SIGINT to exit ms (x)", "jl start to exit ms", "libbpf-tools start to exit ms (x)",
                  "jl RSS MiB", "libbpf-tools RSS MiB (x)"], rows)


def libbpf_event_table(per_event):
    """jl against libbpf-tools under each job's workload (the unpaced flood, or disk reads for `hardirqs`):
    in-program ns per run and per packet or read, and the workload's overhead per packet or read."""
    rows = []
    for job, configs in per_event.items():
        none_ns = 1e9 / configs["none"]["pps"]
        cells = {}
        for name in ("jl", "libbpf-tools"):
            r = configs[name]
            cells[name] = (r["run_ns"], r["bpf_ns"], 1e9 / r["pps"] - none_ns)
        jl, lt = cells["jl"], cells["libbpf-tools"]

        def number(value):
            return "n/a" if value is None else f"{value:.0f}"

        rows.append([f"`{job}`", *(f"{number(j)} / {number(l)}" for j, l in zip(jl, lt)), ratio(lt[0], jl[0])])
    return table(["libbpf-tools job", "in-program ns per run, jl / libbpf-tools",
                  "in-program ns per packet or read, jl / libbpf-tools",
                  "workload overhead ns per packet or read, jl / libbpf-tools",
                  "per run libbpf-tools / jl"], rows)


def libbpf_jobs_table():
    """The jobs, as they are run."""
    return table(["libbpf-tools job", "covers", "jl"], [[f"`{job.name}`", job.covers, f"`{job.jl}`"] for job in JOBS])


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


def verdicts(results, reference):
    """The issue's targets against REFERENCE (today's bpftrace) and libbpf-tools, each with the measured value and
    whether it is met."""
    start, rows = results["start"], []

    def worst(pairs, key):
        """The lowest REFERENCE / jl ratio of KEY over PAIRS (those measured), and the script it is on."""
        measured = [(start[pair.name][reference][key], start[pair.name]["jl"][key], pair.name) for pair in pairs]
        return min((peer / ours, name) for peer, ours, name in measured if peer and ours)

    light = [pair for pair in PAIRS if pair.reads_no_args]
    wall, wall_on = worst(light, "wall")
    rows.append([f"start to exit >= 20x faster than {reference}, typed probes and scripts reading no `args` "
                 f"({', '.join(f'`{pair.name}`' for pair in light)})", f"worst {wall:.1f}x (`{wall_on}`)", wall >= 20])
    attached, attached_on = worst(PAIRS, "attached")
    rows.append([f"time to attached >= 20x faster than {reference} (every script)",
                 f"worst {attached:.1f}x (`{attached_on}`)", attached >= 20])
    rss, rss_on = worst(PAIRS, "rss_kib")
    rows.append([f"peak RSS <= 1/20 of {reference}'s (every script)", f"worst 1/{rss:.1f} (`{rss_on}`)", rss >= 20])
    if "skb" in results:
        jl_ns, peer_ns = (results["skb"]["0"][name]["bpf_ns"] for name in ("jl", reference))
        rows.append([f"per-event cost of a typed probe <= half of {reference}'s (`skb()`, in-program ns per packet, "
                     "unpaced)", f"{jl_ns:.0f} vs {peer_ns:.0f} ns ({ratio(peer_ns, jl_ns)})", 2 * jl_ns <= peer_ns])
    if "libbpf_tools" in results:
        for job, configs in results["libbpf_tools"]["per_event"].items():
            jl_ns, lt_ns = configs["jl"]["run_ns"], configs["libbpf-tools"]["run_ns"]
            if jl_ns is None or lt_ns is None:
                rows.append([f"per-event cost <= libbpf-tools' (`{job}`)", "no events under its workload", False])
                continue
            rows.append([f"per-event cost <= libbpf-tools' (`{job}`, in-program ns per run)",
                         f"{jl_ns:.0f} vs {lt_ns:.0f} ns", jl_ns <= lt_ns])
    return table(["target", "measured", "met"], [[t, m, "yes" if ok else "**no**"] for t, m, ok in rows])


def scripts_table():
    """The script pairs, as they are run."""
    rows = [[f"`{p.name}`", p.covers, f"`{p.jl}`", f"`{p.bpftrace}`"] for p in PAIRS]
    return table(["name", "covers", "jl", "bpftrace"], rows)


def render(header, results, peers):
    """The results section: the verdicts when every measurement they need ran, then one table per measurement.
    PEERS are the bpftrace columns, the last one the reference of the targets."""
    reference = peers[-1]
    parts = [header]
    sections = []
    if "start" in results:
        sections.append(("Targets", verdicts(results, reference)))
    tables = [
        ("start", "Start to exit, attach and peak RSS", lambda start: start_table(start, peers)),
        ("libbpf_tools", "Against libbpf-tools: start, stop and peak RSS",
         lambda compared: libbpf_start_table(compared["start"])),
        ("libbpf_tools", "Against libbpf-tools: cost per event under a steady workload (UDP flood; disk reads for `hardirqs`)",
         lambda compared: libbpf_event_table(compared["per_event"])),
        ("teardown", "The kernel's detach time (one perf-event tracepoint, empty program)",
         lambda teardown: teardown_table(teardown, results.get("start"), reference)),
        ("programs", "Programs loaded", lambda programs: programs_table(programs, peers)),
        ("footprint", "Installed footprint", footprint_table),
        ("overhead", "Per-event overhead (getppid loop)", overhead_table),
        ("growth", "Growth with script size", lambda growth: growth_table(growth, peers)),
        ("map_print", "Map print time", lambda map_print: map_print_table(map_print, peers)),
        ("skb", "skb() per packet against packet rate", lambda skb: skb_table(skb, peers)),
        ("probe_cost", "jl's packet-path probes under a flood (skb, softirq, stall)", probe_cost_table),
    ]
    sections += [(title, render_table(results[name])) for name, title, render_table in tables if name in results]
    sections.append(("Scripts", scripts_table()))
    if "libbpf_tools" in results:
        sections.append(("libbpf-tools jobs", libbpf_jobs_table()))
    for title, body in sections:
        parts.append(f"### {title}\n\n{body}")
    return "\n\n".join(parts) + "\n"
