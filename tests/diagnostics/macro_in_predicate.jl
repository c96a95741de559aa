macro busy(x) { $limit = 10; x > $limit }
tracepoint:sched:sched_switch /busy(pid)/ { @ = count(); }
