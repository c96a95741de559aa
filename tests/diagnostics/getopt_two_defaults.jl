BEGIN { @a = getopt("n", 5); @b = getopt("n", 6); }
