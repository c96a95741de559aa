// bpftrace 0.27's typed `let`: `let $v: uint8 = x` holds x as a uint8 (a wider value keeps its low byte, as a cast
// would; bpftrace refuses one), `let $n: int16;` declares a zero of that type, a macro's `typeof(x)` its argument's type.
macro widen(x) { let $w: typeof(x); $w = x + 1; $w }
tracepoint:irq:softirq_entry { let $v: uint8 = args.vec + 250; let $n: int16; $n = $v; @[$n] = sum(widen($v)); }
