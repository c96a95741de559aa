// Block expressions: statements run first in a scope of their own, the last expression is the value; an
// aggregation stays one (`@avg = { ...; avg($a) }`), `_ = { ... }` runs the statements and drops the value.
tracepoint:sched:sched_switch { @avg = { let $a = pid; avg($a) }; $v = { $x = 1; $x + cpu }; @last = $v; _ = { @n = 1; 2 }; }
