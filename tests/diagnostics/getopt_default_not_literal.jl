BEGIN { @ = getopt("n", pid); }
