BEGIN { @n = getopt("n", 5); @verbose = getopt("verbose"); @who[getopt("who", "nobody")] = count(); }
