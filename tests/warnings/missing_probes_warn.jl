config = { missing_probes = warn } tracepoint:nonsense:nonsense { @x = 1; } BEGIN { exit(); }
