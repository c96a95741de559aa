config = { missing_probes = maybe } BEGIN { exit(); }
