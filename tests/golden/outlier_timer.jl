timer() { @[func] = hist(dur); outlier(100us); }
