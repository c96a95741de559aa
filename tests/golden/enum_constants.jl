// C enum names are constants: implicit values count on from the one before, negative ones are allowed.
enum state { IDLE = -1, BUSY, SLEEPY = 0x10, DEEP };
tracepoint:sched:sched_switch /args.prev_state == DEEP/ { @[BUSY, IDLE] = count(); }
