#include <linux/sched.h>
#define LIMIT 5
tracepoint:irq:softirq_entry /args.vec > LIMIT/ { @ = count(); }
