"""A veth pair between two network namespaces, and ping traffic across it: the packet load of the soak and
cost tests. A veth hands each received packet to the backlog of the sending CPU, so every packet is its own
NET_RX softirq run: the worst case for probes on softirqs, per packet.
"""

import subprocess


def run(*args, check=True):
    """Runs a command; returns its standard output."""
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout


class VethPair:
    """Namespaces PREFIX-a and PREFIX-b joined by PREFIX0 (in a, SUBNET.1) and PREFIX1 (in b, SUBNET.2)."""

    def __init__(self, prefix, subnet):
        self.send_ns, self.recv_ns = f"{prefix}-a", f"{prefix}-b"
        self.send_dev, self.recv_dev = f"{prefix}0", f"{prefix}1"
        self.send_addr, self.recv_addr = f"{subnet}.1", f"{subnet}.2"

    def __enter__(self):
        self.tear_down()
        for ns in (self.send_ns, self.recv_ns):
            run("ip", "netns", "add", ns)
        run("ip", "link", "add", self.send_dev, "netns", self.send_ns, "type", "veth",
            "peer", "name", self.recv_dev, "netns", self.recv_ns)
        for ns, dev, addr in ((self.send_ns, self.send_dev, self.send_addr),
                              (self.recv_ns, self.recv_dev, self.recv_addr)):
            run("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "netns", "exec", self.send_ns, "ping", "-c", "1", "-W", "2", self.recv_addr)
        return self

    def __exit__(self, *_):
        self.tear_down()

    def tear_down(self):
        """Deletes both namespaces (and with them the pair), whatever exists of them."""
        for ns in (self.send_ns, self.recv_ns):
            run("ip", "netns", "del", ns, check=False)

    def rx_packets(self):
        """The receiving end's rx_packets counter."""
        return int(run("ip", "netns", "exec", self.recv_ns, "cat",
                       f"/sys/class/net/{self.recv_dev}/statistics/rx_packets"))

    def ping(self, interval=None):
        """Starts `ping -f` (or one echo every INTERVAL seconds) from a to b; returns the process."""
        pace = ["-i", str(interval)] if interval else ["-f"]
        return subprocess.Popen(["ip", "netns", "exec", self.send_ns, "ping", *pace, "-q", self.recv_addr],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
