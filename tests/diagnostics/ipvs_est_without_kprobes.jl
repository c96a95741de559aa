// ipvs_est() on Linux >= 6.2 needs kprobes, which the fixture's 6.18 host lacks: the error names the missing feature
ipvs_est() { @ = hist(dur); }
