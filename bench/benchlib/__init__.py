"""bench/run's library: script pairs, process measurement, BPF program inspection, footprint and report."""
