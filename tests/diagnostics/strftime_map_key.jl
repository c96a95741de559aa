BEGIN { @[strftime("%m/%d/%y", nsecs)] = 1; }
