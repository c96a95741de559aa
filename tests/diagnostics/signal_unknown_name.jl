BEGIN { signal("SIGFOO"); }
