BEGIN { printf("%llu\n", nsecs(realtime)); }
