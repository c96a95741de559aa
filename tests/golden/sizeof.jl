// sizeof is a constant: the script's struct laid out, an integer type, an array of pointers, a cast's width.
struct Pair { unsigned int a; char b; }
tracepoint:sched:sched_process_fork { @[sizeof(struct Pair), sizeof(uint16), sizeof(uint8 *[4]), sizeof((int32)pid)] = count(); }
