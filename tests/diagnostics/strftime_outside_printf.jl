BEGIN { $t = strftime("%H:%M", nsecs); }
