// strftime() as a value: the nsecs travel (8 bytes), user space formats them.
tracepoint:sched:sched_switch { $t = strftime("%H:%M:%S", nsecs); print(($t, pid)); }
