// A string literal compared with a name from a fixed table must be one of its names.
softirq() { if (name == "NET_RX") { @rx = count(); } }
