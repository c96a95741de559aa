BEGIN { @[if] = 1; }
