BEGIN { exit(1, 2, 3); }
