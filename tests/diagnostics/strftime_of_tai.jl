BEGIN { printf("%s\n", strftime("%H:%M", nsecs(tai))); }
