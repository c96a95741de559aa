// `let @m = KIND(N);`: the map type and size change, the program does not (see
// declared_maps_choose_their_type_and_size for the maps).
let @seen = percpulruhash(64);
let @last = lruhash(16);
tracepoint:sched:sched_switch { @seen[pid] = count(); @last[cpu] = pid; }
