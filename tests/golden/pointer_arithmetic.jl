// `p + n` and `p - n` move a pointer by n pointees, as in C and bpftrace: 4 bytes a step through `int32 *` (a
// constant folded, a variable multiplied), 12 through a pointer to the struct below, 8 through `uint8 **`.
struct trio { int a; int b; int c };
tracepoint:sched:sched_switch { $p = (int32 *)curtask; @a = $p + 3; @b = $p - args.prev_pid; @c = (struct trio *)curtask + 1; @d = (uint8 **)curtask + 2; }
