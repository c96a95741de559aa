// bench: blocks are XDP programs run on demand, ungated (a benchmark is never attached)
bench:count { @ = count(); }
bench:lhist { @h = lhist(cpu, 0, 8, 1); }
