// A value macro, a block macro changing the caller's variable and map, and hygiene: the macro's own `$v`
// is not the caller's.
macro square(x) { let $v = x; $v * $v }
macro bump($n, @m) { $n += 1; @m[$n] = square($n); }
tracepoint:sched:sched_switch { $v = pid; bump($v, @sq); @last = $v; }
