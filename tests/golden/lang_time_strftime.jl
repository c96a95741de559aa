interval:s:1 { time("%H:%M:%S "); printf("%s\n", strftime("%Y-%m-%d %H:%M:%S.%f", nsecs)); }
