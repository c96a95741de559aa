BEGIN { if (usym(1) == 1) { exit(); } }
