timer() { @[func] = sum(dur); }
