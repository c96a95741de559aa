config = { missing_probes = ignore } tracepoint:nonsense:nonsense { @x = 1; }
