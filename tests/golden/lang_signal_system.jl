// jl --unsafe
tracepoint:sched:sched_process_exec /comm == "sleep"/ { signal("SIGUSR1"); system("echo woke %d", pid); }
